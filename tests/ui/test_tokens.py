"""Settings › API tokens: created and shown once, then used, then revoked."""
import requests


def test_create_use_and_revoke_an_api_token(browser, server):
    b = browser()
    b.signup(org="Token Works")
    b.click("Settings")
    b.wait_heading("Members")
    b.click("API tokens")
    b.wait_heading("API tokens")
    b.wait_text("No API tokens yet.")
    b.fill("Name", "CRM sync")
    b.choose("Role", "admin")
    b.click("Create token")
    result = b.wait_for("[data-testid=token-result]")
    token = b.field("API token", result).get_attribute("value")
    assert token.startswith("ibt_")
    assert "not shown again" in result.text
    row = b.wait_for("[data-testid=token-row]")
    assert "CRM sync" in row.text and "Admin" in row.text
    assert "Last used: never" in row.text
    b.shot("api-tokens")

    r = requests.get(server.url + "/api/v1/me",
                     headers={"Authorization": "Bearer " + token})
    assert r.status_code == 200 and r.json()["organization"]["name"] == "Token Works"

    # Shown once: after "Done" (or a reload) only the hint is left.
    b.click("Done")
    assert token not in b.driver.page_source
    b.driver.refresh()
    row = b.wait_for("[data-testid=token-row]")
    assert "Last used: never" not in row.text

    b.confirm("Revoke CRM sync", "Revoke")
    b.wait_text("Revoked", "[data-testid=token-row]")
    r = requests.get(server.url + "/api/v1/me",
                     headers={"Authorization": "Bearer " + token})
    assert r.status_code == 401


def test_cancelling_a_revoke_keeps_the_token_and_the_focus(browser, server):
    b = browser()
    b.signup(org="Second Thoughts")
    b.open("/settings/api-tokens")
    b.fill("Name", "Keep me")
    b.click("Create token")
    b.wait_for("[data-testid=token-row]")
    b.click("Revoke Keep me")
    b.click("Cancel")
    b.wait.until(lambda d: d.switch_to.active_element.get_attribute(
        "aria-label") == "Revoke Keep me")
    assert "Revoked" not in b.find("[data-testid=token-row]").text
