"""Issue 11: the same change sent many times at once answers success or 409, never 500
(run on PostgreSQL with IMAGIN_TEST_DATABASE_URL, where requests truly overlap)."""

import threading

from tests.builders import LEG_621, add_621, claim_of
from tests.conftest import GESTIONNAIRE, AuthActions, csrf_from


def at_once(app, cookie: str, requests: list[tuple[str, dict]]) -> list[int]:
    """Send the requests from as many threads, released together; their statuses."""
    statuses: list[int] = []
    start = threading.Barrier(len(requests))

    def send(path: str, data: dict) -> None:
        client = app.test_client()
        client.set_cookie("session", cookie)
        start.wait()
        statuses.append(client.post(path, data=data).status_code)

    threads = [threading.Thread(target=send, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_ten_bulk_approvals_of_one_claim_at_once(app, client):
    AuthActions(client).login(GESTIONNAIRE)
    token = csrf_from(client.get("/gestion").get_data(as_text=True))
    cookie = client.get_cookie("session").value
    data = {"csrf_token": token, "selected": ["815"]}
    statuses = at_once(app, cookie, [("/gestion/validation-groupee", data)] * 10)
    assert len(statuses) == 10
    assert set(statuses) <= {303, 409}, statuses
    stored = claim_of(app, 815)
    assert (stored["pay"], stored["travel"]) == ("valide_gestionnaire", "valide_gestionnaire")


def test_an_edit_and_a_delete_of_one_leg_at_once(app, signed_in):
    cookie = signed_in.get_cookie("session").value
    for _ in range(3):
        [leg_id] = claim_of(app, 621)["leg_ids"] or add_621(app, signed_in)
        url = f"/missions/621/deplacement/trajets/{leg_id}"
        token = csrf_from(signed_in.get(url + "/modifier").get_data(as_text=True))
        version = str(claim_of(app, 621)["version"])
        edit = {**LEG_621, "departure_time": "07:30", "csrf_token": token, "version": version}
        delete = {"csrf_token": token, "version": version}
        statuses = at_once(app, cookie, [(url + "/modifier", edit), (url + "/supprimer", delete)])
        # One wins; the other finds the claim changed (409) or the leg gone (404).
        assert sorted(statuses) in ([303, 404], [303, 409]), statuses
        assert len(claim_of(app, 621)["leg_ids"]) <= 1
