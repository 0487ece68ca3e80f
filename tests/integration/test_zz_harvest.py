import re
from html.parser import HTMLParser
from tests.conftest import CLAIRE, GESTIONNAIRE, AuthActions


class Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []
        self.cur = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method", "get").lower() == "post" or a.get("hx-post")):
            self.cur = {"action": a.get("action") or a.get("hx-post"), "fields": {}}
            self.forms.append(self.cur)
        elif (
            tag in ("input", "select", "textarea", "button")
            and self.cur is not None
            and a.get("name")
        ):
            self.cur["fields"].setdefault(a["name"], a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.cur = None


def test_h(app):
    cl = app.test_client()
    AuthActions(cl).login(CLAIRE)
    ma = app.test_client()
    AuthActions(ma).login(GESTIONNAIRE)
    an = app.test_client()
    pages = {
        an: ["/intervenant", "/intervenant/mot-de-passe"],
        cl: [
            "/profil",
            "/missions",
            "/missions/621",
            "/missions/621/remuneration",
            "/missions/621/deplacement",
            "/missions/621/deplacement/trajets/nouveau",
            "/missions/621/recapitulatif",
            "/missions/815",
            "/missions/815/deplacement",
            "/missions/640/deplacement",
        ],
        ma: [
            "/gestion",
            "/gestion/missions/815",
            "/gestion/missions/621",
            "/gestion/import",
            "/gestion/paiement",
        ],
    }
    for c, ps in pages.items():
        for p in ps:
            r = c.get(p)
            f = Forms()
            f.feed(r.get_data(as_text=True))
            for form in f.forms:
                print(r.status_code, p, form["action"], sorted(form["fields"])[:12])
