from http import HTTPStatus

import pytest

from accounts.models import AccessRequest, User

URL = "/api/v1/auth/request-access/"


@pytest.mark.django_db
def test_request_access_answers_the_same_whether_or_not_the_email_is_known(
    api_client, approved_user
):
    known = api_client.post(URL, {"email": approved_user.email}, format="json")
    unknown = api_client.post(URL, {"email": "new@example.com"}, format="json")

    assert known.status_code == unknown.status_code == HTTPStatus.ACCEPTED
    assert known.json() == unknown.json()


@pytest.mark.django_db
def test_request_access_for_a_new_email_opens_a_pending_request(api_client):
    api_client.post(
        URL, {"email": "New@Example.com", "full_name": "Nia", "reason": "Ops team"}
    )

    user = User.objects.get(email="new@example.com")
    assert user.status == "pending"
    assert not user.has_usable_password()
    assert AccessRequest.objects.get(user=user).reason == "Ops team"


@pytest.mark.django_db
def test_request_access_twice_keeps_one_pending_request(api_client, pending_user):
    api_client.post(URL, {"email": pending_user.email, "reason": "Still waiting"})

    requests = AccessRequest.objects.filter(user=pending_user)
    assert requests.count() == 1
    assert requests.get().reason == "Still waiting"


@pytest.mark.django_db
def test_request_access_reopens_for_a_rejected_user(api_client, user_factory):
    user = user_factory(status=User.Status.REJECTED)

    api_client.post(URL, {"email": user.email, "reason": "Please reconsider"})

    user.refresh_from_db()
    assert user.status == "pending"
    assert (
        AccessRequest.objects.get(user=user, status="pending").reason
        == "Please reconsider"
    )


@pytest.mark.django_db
def test_request_access_does_not_touch_an_approved_user(api_client, approved_user):
    api_client.post(URL, {"email": approved_user.email})

    approved_user.refresh_from_db()
    assert approved_user.status == "approved"
    assert not AccessRequest.objects.filter(user=approved_user).exists()


@pytest.mark.django_db
def test_request_access_with_a_bad_email_is_400(api_client):
    response = api_client.post(URL, {"email": "nope"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"


@pytest.mark.django_db
def test_request_access_is_forbidden_when_signup_is_closed(api_client, settings):
    settings.SIGNUP_MODE = "closed"

    response = api_client.post(URL, {"email": "c@example.com"}, format="json")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "permission_denied"
    assert not User.objects.filter(email="c@example.com").exists()
