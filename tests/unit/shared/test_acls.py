"""The ACL plan (shared/kafka/acls.py): who may read and write which topic, and its table in the docs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from shared.config import KafkaSettings
from shared.kafka.acls import (
    AclBinding,
    Integration,
    acl_plan,
    markdown_table,
    parse_integrations,
    service_group,
)
from shared.kafka.topics import TOPICS
from shared.worker import Worker

DOC = Path(__file__).parents[3] / "docs" / "kafka-identities.md"
EXAMPLES = parse_integrations(["trc-gaziantep=organisation", "hta-berlin=donor", "iom-desk=coordinator"])
SERVICES = {"User:drx-ingest", "User:drx-matching", "User:drx-notify"}
DRX = {*SERVICES, "User:drx-operator"}


def who(plan: list[AclBinding], topic: str, operation: str) -> set[str]:
    return {
        b.principal
        for b in plan
        if b.resource_type == "TOPIC" and b.resource_name == f"drx.{topic}" and b.operation == operation
    }


PLAN = acl_plan("drx.", EXAMPLES)


class TestTopics:
    @pytest.mark.parametrize("topic", ["canonical", "matches", "notifications", "audit"])
    def test_only_drx_principals_write_the_topics_drx_decides(self, topic):
        assert who(PLAN, topic, "WRITE")
        assert who(PLAN, topic, "WRITE") <= DRX

    def test_each_worker_writes_what_its_outbox_sends(self):
        assert who(PLAN, "canonical", "WRITE") == {"User:drx-ingest"}
        assert who(PLAN, "matches", "WRITE") == {"User:drx-matching"}
        assert who(PLAN, "notifications", "WRITE") == {"User:drx-notify"}
        assert who(PLAN, "rejected", "WRITE") == SERVICES
        assert who(PLAN, "audit", "WRITE") == DRX  # every worker, and drx audit checkpoint

    def test_each_worker_reads_what_it_subscribes_to(self):
        for intake in ("crises", "needs", "pledges", "decisions"):
            assert who(PLAN, f"intake.{intake}", "READ") == {"User:drx-ingest"}
        assert who(PLAN, "intake.subscriptions", "READ") == {"User:drx-notify"}
        assert who(PLAN, "canonical", "READ") == {"User:drx-matching", "User:drx-notify"}
        assert who(PLAN, "matches", "READ") == {"User:drx-notify"}
        assert who(PLAN, "notifications", "READ") == set()  # for integrations that listen: granted by hand

    def test_only_the_operator_reads_rejected_and_audit(self):
        assert who(PLAN, "rejected", "READ") == {"User:drx-operator"}
        assert who(PLAN, "audit", "READ") == {"User:drx-operator"}

    def test_each_integration_writes_only_its_roles_intake_topics_and_its_subscriptions(self):
        writes = {
            principal: {b.resource_name for b in PLAN if b.principal == principal and b.operation == "WRITE"}
            for principal in (
                "User:drx-int-trc-gaziantep",
                "User:drx-int-hta-berlin",
                "User:drx-int-iom-desk",
            )
        }
        assert writes == {
            "User:drx-int-trc-gaziantep": {"drx.intake.needs", "drx.intake.subscriptions"},
            "User:drx-int-hta-berlin": {"drx.intake.pledges", "drx.intake.subscriptions"},
            "User:drx-int-iom-desk": {
                "drx.intake.crises",
                "drx.intake.decisions",
                "drx.intake.subscriptions",
            },
        }
        integration = [b for b in PLAN if b.principal.startswith("User:drx-int-")]
        assert {b.operation for b in integration} == {"WRITE", "DESCRIBE"}
        assert {b.resource_type for b in integration} == {"TOPIC"}

    def test_only_the_operator_manages_topics_and_acls(self):
        admin = [b for b in PLAN if b.operation in {"CREATE", "ALTER", "ALTER_CONFIGS", "DESCRIBE_CONFIGS"}]
        assert {b.principal for b in admin} == {"User:drx-operator"}
        assert AclBinding("User:drx-operator", "TOPIC", "drx.", "PREFIXED", "CREATE") in admin
        assert AclBinding("User:drx-operator", "CLUSTER", "kafka-cluster", "LITERAL", "ALTER") in admin

    def test_every_planned_topic_is_a_drx_topic(self):
        names = {f"drx.{spec.name}" for spec in TOPICS}
        literal = {b.resource_name for b in PLAN if b.resource_type == "TOPIC" and b.pattern == "LITERAL"}
        assert literal <= names

    def test_an_empty_prefix_gives_the_operator_every_topic_by_wildcard(self):
        plan = acl_plan("", EXAMPLES)
        assert AclBinding("User:drx-operator", "TOPIC", "*", "LITERAL", "CREATE") in plan
        assert not [b for b in plan if b.pattern == "PREFIXED"]

    def test_the_plan_is_sorted_and_without_duplicates(self):
        assert sorted(set(PLAN)) == PLAN


class TestGroups:
    def test_each_worker_reads_its_own_group_named_as_the_worker_names_it(self):
        groups = {(b.principal, b.resource_name) for b in PLAN if b.resource_type == "GROUP"}
        expected = set()
        for service in ("ingest", "matching", "notify"):
            worker = SimpleNamespace(
                name=service, settings=SimpleNamespace(kafka=KafkaSettings(topic_prefix="drx."))
            )
            group = Worker.group_id.fget(worker)  # type: ignore[attr-defined]
            assert group == service_group("drx.", service)
            expected.add((f"User:drx-{service}", group))
        assert groups == expected
        assert {b.operation for b in PLAN if b.resource_type == "GROUP"} == {"READ"}


class TestIntegrations:
    def test_a_valid_list_is_parsed_with_spaces_around_it_tolerated(self):
        assert parse_integrations([" trc-gaziantep = organisation", "a1=donor"]) == [
            Integration("trc-gaziantep", "organisation"),
            Integration("a1", "donor"),
        ]
        assert Integration("a1", "donor").principal == "drx-int-a1"

    @pytest.mark.parametrize(
        ("item", "reason"),
        [
            ("trc", "is not NAME=ROLE"),
            ("trc=admin", "has role 'admin'; a role is one of organisation, donor, coordinator"),
            ("TRC=donor", "must be 1-63 lower-case letters"),
            ("-trc=donor", "must be 1-63 lower-case letters"),
            ("trc-=donor", "must be 1-63 lower-case letters"),
            ("a*=donor", "must be 1-63 lower-case letters"),
            ("=donor", "must be 1-63 lower-case letters"),
            (f"{'a' * 64}=donor", "must be 1-63 lower-case letters"),
        ],
    )
    def test_a_bad_item_is_refused_with_its_reason(self, item, reason):
        with pytest.raises(ValueError, match=reason.replace("(", r"\(")):
            parse_integrations([item])

    def test_a_name_given_twice_is_refused(self):
        with pytest.raises(ValueError, match="'trc' is given twice"):
            parse_integrations(["trc=donor", "trc=organisation"])


class TestDocs:
    def test_the_docs_table_is_the_plan(self):
        assert markdown_table(PLAN) in DOC.read_text(), (
            "docs/kafka-identities.md's ACL table differs from shared/kafka/acls.acl_plan; paste "
            "markdown_table(acl_plan('drx.', EXAMPLES)) from tests/unit/shared/test_acls.py"
        )
