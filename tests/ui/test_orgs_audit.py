"""Several organizations per person, the audit log, and times."""
import datetime
import zoneinfo

from apiclient import login


def test_create_and_switch_organizations(browser, server):
    b = browser()
    b.signup(org="Alpha Ltd", name="Sam Switch")
    b.click("New organization…", b.account_menu())
    b.wait_heading("New organization")
    b.fill("Name", "Beta GmbH")
    b.click("Create organization")
    b.wait_path("/settings/members")
    b.wait.until(lambda d: b.current_org() == "Beta GmbH")
    b.wait_text("Sam Switch", ".member-name")

    panel = b.account_menu()
    assert "Alpha Ltd" in panel.text
    b.shot("switch-organization")
    b.find(".account-orgs button", panel).click()
    b.wait.until(lambda d: b.current_org() == "Alpha Ltd")
    # The screen reloaded for the organization now shown.
    b.wait_text("Sam Switch", ".member-name")
    # And the server agrees after a reload.
    b.driver.refresh()
    b.wait_for(".account-button")
    assert b.current_org() == "Alpha Ltd"


def test_audit_log_pages_back_through_history(browser, server):
    b = browser()
    email = b.signup(org="Busy Org", name="Audrey Audit")
    api = login(server.url, email)
    for i in range(55):
        r = api.post("/api/v1/api-tokens", {"name": f"token {i}"})
        assert r.status_code == 201, r.text
    b.open("/settings/audit-log")
    b.wait_heading("Audit log")
    b.wait_text("API token created", "[data-testid=audit-row]")
    rows = b.find_all("[data-testid=audit-row]")
    assert len(rows) == 50
    assert "Audrey Audit created “token 54” with role Agent" in rows[0].text
    b.shot("audit-log")
    b.click("Load older events")
    b.wait_text("That is the beginning of the log.")
    rows = b.find_all("[data-testid=audit-row]")
    assert len(rows) == 57  # signup, a sign-in, 55 tokens
    assert "created the organization" in rows[-1].text


def test_times_are_shown_in_the_viewers_time_zone(browser, server):
    for tz in ("Pacific/Auckland", "America/Los_Angeles"):
        b = browser(tz=tz)
        b.signup(org="Clockwork " + tz)
        assert b.driver.execute_script(
            "return Intl.DateTimeFormat().resolvedOptions().timeZone") == tz
        b.open("/settings/audit-log")
        t = b.wait_for("[data-testid=audit-row] time")
        at = datetime.datetime.fromisoformat(t.get_attribute("datetime"))
        local = at.astimezone(zoneinfo.ZoneInfo(tz))
        shown = t.text  # e.g. "Nov 21, 2026, 4:05 PM"
        assert local.strftime("%b %-d, %Y") in shown, (tz, shown)
        assert local.strftime("%-I:%M %p") in shown, (tz, shown)
