"""The token lookup every API request runs reads what the ORM would, in one query."""

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, token_digest
from accounts.token_lookup import token_with_owner

pytestmark = pytest.mark.django_db


def test_a_token_comes_with_its_user_membership_and_organisation_in_one_query(
    owner, django_assert_num_queries
):
    token, plaintext = services.token_create(user=owner, name="ERP")
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    expected = ApiToken.objects.select_related("user__member__organisation").get(pk=token.pk)
    with django_assert_num_queries(1):
        found = token_with_owner(token_digest(plaintext))
        organisation = found.user.member.organisation
    assert (found.pk, found.name, found.last_used_at, found.revoked_at) == (
        expected.pk,
        expected.name,
        expected.last_used_at,
        None,
    )
    assert found.user == owner and found.user.is_active is True
    assert found.user.date_joined == expected.user.date_joined
    assert organisation == expected.user.member.organisation
    assert organisation.created_at == expected.user.member.organisation.created_at


def test_a_user_without_an_organisation_has_no_membership_and_needs_no_second_query(
    loner, django_assert_num_queries
):
    _, plaintext = services.token_create(user=loner, name="ERP")
    with django_assert_num_queries(1):
        found = token_with_owner(token_digest(plaintext))
        assert not hasattr(found.user, "member")


def test_an_unknown_digest_finds_nothing(owner):
    assert token_with_owner(token_digest("dt_never-issued")) is None
