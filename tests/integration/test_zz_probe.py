import re, sys, itertools

sys.path.insert(0, "/work/wt/h11b")
import pytest
from tests.conftest import base_config, csrf_from, CLAIRE, GESTIONNAIRE, AuthActions
from imagin import create_app
import tests.conftest as c

BAD = [
    "%20",
    " ",
    "\t",
    "1e308",
    "NaN",
    "-0",
    "1e-400",
    "9999999999999",
    "99999999999999999999",
    "-1",
    "abc",
    "\x00",
    "inf",
    "1,5",
    "０",
]


def run(app):
    fails = []
    cl = app.test_client()
    AuthActions(cl).login(CLAIRE)
    ma = app.test_client()
    AuthActions(ma).login(GESTIONNAIRE)
    for client, base in (
        (cl, "/missions"),
        (ma, "/gestion"),
        (ma, "/gestion/paiement"),
        (cl, "/missions/621/remuneration/estimation"),
    ):
        for name in ("session", "status", "exam", "name", "number", "page", "copies", "candidates"):
            for v in BAD:
                r = client.get(f"{base}?{name}={v}")
                if r.status_code >= 500:
                    fails.append((base, name, v, r.status_code))

    # forms
    def post(client, page, path, fields):
        html = client.get(page).get_data(as_text=True)
        try:
            tok = csrf_from(html)
        except AssertionError:
            print("NOTOKEN", page)
            tok = "x"
        ver = re.search(r'name="version" type="hidden" value="(\d+)"', html)
        data = {"csrf_token": tok, **fields}
        if ver:
            data.setdefault("version", ver.group(1))
        return client.post(path, data=data)

    for v in BAD:
        for fields in ({"vehicle_cv": v}, {"family_commune": v}):
            r = post(cl, "/profil", "/profil", fields)
            if r.status_code >= 500:
                fails.append(("profil", fields, r.status_code))
        leg = {
            "departure_date": "2024-06-12",
            "departure_time": "08:00",
            "departure_city": "Tours",
            "arrival_date": "2024-06-12",
            "arrival_time": "09:00",
            "arrival_city": "Orléans",
            "mode": "car",
            "km": "100",
            "fare": "",
        }
        for k in ("km", "fare", "departure_date", "departure_time", "mode"):
            f = dict(leg)
            f[k] = v
            r = post(
                cl,
                "/missions/621/deplacement/trajets/nouveau",
                "/missions/621/deplacement/trajets/nouveau",
                f,
            )
            if r.status_code >= 500:
                fails.append(("leg", k, v, r.status_code))
        for k in ("copies", "candidates"):
            r = post(cl, "/missions/621/remuneration", "/missions/621/remuneration", {k: v})
            if r.status_code >= 500:
                fails.append(("pay", k, v, r.status_code))
        for k in ("nights-0-paid", "expenses-0-amount", "nights-0-commune", "expenses-0-kind"):
            r = post(cl, "/missions/621/deplacement", "/missions/621/deplacement/frais", {k: v})
            if r.status_code >= 500:
                fails.append(("frais", k, v, r.status_code))
        r = post(ma, "/gestion", "/gestion/validation-groupee", {"selected": v})
        if r.status_code >= 500:
            fails.append(("bulk", v, r.status_code))
        r = post(
            ma, "/gestion/missions/815", "/gestion/missions/815/deplacement/valider", {"version": v}
        )
        if r.status_code >= 500:
            fails.append(("approve", v, r.status_code))
    return fails


def test_probe(app):
    fails = run(app)
    for f in fails:
        print("FAIL", f)
    assert not fails
