"""Signing up, out and in through the UI."""
import requests

from apiclient import PASSWORD


def test_signup_lands_in_the_inbox_of_the_new_organization(browser):
    b = browser()
    b.open("/")
    b.wait_path("/login")
    b.shot("login")
    b.click("Create an organization")
    b.wait_heading("Create your organization")
    b.shot("signup")
    b.signup(org="Northwind Traders", name="Nora North")
    assert b.current_org() == "Northwind Traders"
    b.wait_text("No accounts connected yet.")
    b.shot("inbox")
    panel = b.account_menu()
    assert "Nora North" in panel.text
    assert "Owner" in b.find(".account-button").text


def test_log_out_then_log_in_again(browser):
    b = browser()
    email = b.signup(org="Out and In")
    b.logout()
    # Signed out, the settings bounce to sign-in and come back after it.
    b.open("/settings/members")
    b.wait_path("/login")
    b.login(email, "not the password at all")
    b.wait_text("Email or password is incorrect", ".notice-error")
    b.fill("Password", PASSWORD)
    b.click("Sign in")
    b.wait_path("/settings/members")
    b.wait_heading("Members")
    assert b.current_org() == "Out and In"


def test_api_errors_show_next_to_their_field(browser, server):
    b = browser()
    email = b.signup(org="First")
    b.logout()
    b.open("/signup")
    b.wait_heading("Create your organization")
    b.fill("Organization name", "Second")
    b.fill("Your name", "Someone Else")
    b.fill("Email", email)
    b.fill("Password", PASSWORD)
    b.click("Create organization")
    b.wait_text("already exists", ".notice-error")
    field = b.field("Email")
    assert field.get_attribute("aria-invalid") == "true"
    err = b.find("#" + field.get_attribute("aria-describedby").split()[-1])
    assert err.text == "Email is already registered"
    # Focus goes to the field that needs fixing.
    b.wait_focus(field)
    b.shot("signup-error")


def test_names_are_shown_as_text_never_as_html(browser):
    b = browser()
    name = '<img src=x onerror="document.title=\'pwned\'"><b>Bold</b>'
    b.signup(org="<i>Tags</i> & Co", name=name)
    b.open("/settings/members")
    b.wait_text(name, ".member-name")
    assert b.current_org() == "<i>Tags</i> & Co"
    assert not b.find_all("main img, main b, .account i")
    assert b.driver.title != "pwned"


def test_unknown_page_and_a_session_ended_elsewhere(browser, server):
    b = browser()
    b.signup(org="Lost")
    b.open("/no/such/page")
    b.wait_heading("Page not found")
    # The session ends outside this page (as when an admin removes the
    # person); the next call sends them to sign in, and back after it.
    sid = b.driver.get_cookie("sid")["value"]
    other = requests.Session()
    other.cookies.set("sid", sid)
    csrf = other.get(server.url + "/api/v1/me").json()["csrf_token"]
    r = other.post(server.url + "/api/v1/auth/logout",
                   headers={"Origin": server.url, "X-CSRF-Token": csrf})
    assert r.status_code == 204, r.text
    b.click("Settings")
    b.wait_path("/login")
    b.wait_text("Your session has ended")
