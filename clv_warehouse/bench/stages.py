"""Which stage of the benchmark builds each dbt node, derived from dbt's manifest.json.

The build runs as one ``dbt build --select <nodes>`` per stage, in DAG order. Models are
assigned by folder and name (``model_stage``); seeds go to the first stage; a data test runs
in the stage of its latest parent (so every model it reads is built by then) and a unit test
in the stage of the model it tests. ``plan_stages`` checks that every node ``dbt build``
would run lands in exactly one stage, that no model or seed reads a node of a later stage,
and that node names are unique (they are the selectors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Resource types `dbt build` runs (hooks run in every invocation and are not nodes to assign).
BUILD_RESOURCE_TYPES = ("model", "seed", "snapshot", "test", "unit_test")


@dataclass(frozen=True)
class Stage:
    number: int
    name: str
    description: str


STAGES = (
    Stage(
        1,
        "staging_audit",
        "seeds, staging view, int_transaction_lines_unioned/_audited, transactions,"
        " transaction_rejections, ingestion_reconciliation, rejection_reason_counts",
    ),
    Stage(2, "daily_aggregate", "int_orders_grouped_to_days, int_customer_items_first_seen"),
    Stage(
        3,
        "features",
        "customers, cutoffs, int_customer_features_at_cutoffs, int_customer_labels_at_cutoffs,"
        " int_customer_rfm_at_training_end, customer_rfm, customer_features, training_snapshots,"
        " cohort_retention",
    ),
    Stage(
        4,
        "baselines",
        "btyd_fits, btyd_customer_predictions (BG/NBD + Gamma-Gamma), int_naive_predictions",
    ),
    Stage(
        5,
        "xgboost",
        "int_model_inputs, xgboost_fits, xgboost_customer_predictions, xgboost_feature_importance",
    ),
    Stage(
        6,
        "reporting",
        "every other model: predictions, backtest, metrics, levels, segments, lists, Insiders",
    ),
)
STAGE_NUMBERS = tuple(stage.number for stage in STAGES)

_STAGE_1_MODELS = {"int_transaction_lines_unioned", "int_transaction_lines_audited"}
_STAGE_2_MODELS = {"int_orders_grouped_to_days", "int_customer_items_first_seen"}
_STAGE_3_MODELS = {
    "int_customer_features_at_cutoffs",
    "int_customer_labels_at_cutoffs",
    "int_customer_rfm_at_training_end",
}
# int_naive_predictions is a baseline (last horizon's revenue); int_model_inputs joins the
# BG/NBD outputs to the features, so it cannot be built before stage 4.
_STAGE_4_MODELS = {"int_naive_predictions"}
_STAGE_5_MODELS = {"int_model_inputs"}


class StageError(ValueError):
    """The stage plan would skip, repeat or misorder a node."""


def model_stage(name: str, path: str) -> int:
    """The stage of a model, from its name and its file's path in the project."""
    if path.startswith("models/staging/") or name in _STAGE_1_MODELS:
        return 1
    if path.startswith(("models/marts/core/", "models/marts/audit/")):
        return 1
    if name in _STAGE_2_MODELS:
        return 2
    if path.startswith("models/marts/customers/") or name in _STAGE_3_MODELS:
        return 3
    if path.startswith("python_models/btyd/") or name in _STAGE_4_MODELS:
        return 4
    if path.startswith("python_models/xgboost/") or name in _STAGE_5_MODELS:
        return 5
    return 6


@dataclass(frozen=True)
class PlannedNode:
    unique_id: str
    resource_type: str
    name: str
    stage: int


@dataclass
class StagePlan:
    """Every node `dbt build` runs, by stage."""

    nodes: dict[str, PlannedNode] = field(default_factory=dict)

    def stage_nodes(self, number: int) -> list[PlannedNode]:
        return sorted(
            (node for node in self.nodes.values() if node.stage == number),
            key=lambda node: node.unique_id,
        )

    def selectors(self, number: int) -> list[str]:
        """The --select arguments of one stage: each node by its (unique) name."""
        return [node.name for node in self.stage_nodes(number)]

    def unique_ids(self, number: int) -> set[str]:
        return {node.unique_id for node in self.stage_nodes(number)}

    def counts(self, number: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.stage_nodes(number):
            counts[node.resource_type] = counts.get(node.resource_type, 0) + 1
        return counts


def buildable_nodes(manifest: Mapping) -> dict[str, Mapping]:
    """The enabled nodes `dbt build` runs (models, seeds, snapshots, data and unit tests)."""
    found = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in BUILD_RESOURCE_TYPES
    }
    found.update(manifest.get("unit_tests", {}))
    # tests of disabled models (the other layouts' staging) are listed but disabled
    return {
        unique_id: node
        for unique_id, node in found.items()
        if node.get("config", {}).get("enabled", True)
    }


def plan_stages(manifest: Mapping) -> StagePlan:
    """Assign every buildable node of a dbt manifest (target/manifest.json) to a stage."""
    nodes = buildable_nodes(manifest)
    stage_of: dict[str, int] = {}
    for unique_id, node in nodes.items():
        kind = node["resource_type"]
        if kind == "model":
            stage_of[unique_id] = model_stage(node["name"], node["original_file_path"])
        elif kind in ("seed", "snapshot"):
            stage_of[unique_id] = 1
    for unique_id, node in nodes.items():
        if node["resource_type"] not in ("test", "unit_test"):
            continue
        parents = [p for p in node["depends_on"]["nodes"] if p in stage_of]
        sources = [p for p in node["depends_on"]["nodes"] if p.startswith("source.")]
        if not parents and not sources:
            raise StageError(f"{unique_id} depends on no model, seed or source: no stage for it")
        stage_of[unique_id] = max((stage_of[parent] for parent in parents), default=1)

    plan = StagePlan()
    for unique_id, node in nodes.items():
        plan.nodes[unique_id] = PlannedNode(
            unique_id, node["resource_type"], node["name"], stage_of[unique_id]
        )
    check_plan(plan, nodes)
    return plan


def check_plan(plan: StagePlan, nodes: Mapping[str, Mapping]) -> None:
    """Raise StageError unless the stages cover every node once, in DAG order, selectably."""
    assigned = [plan.unique_ids(number) for number in STAGE_NUMBERS]
    every = set().union(*assigned)
    if every != set(nodes) or sum(len(ids) for ids in assigned) != len(nodes):
        missing = sorted(set(nodes) - every)
        raise StageError(f"nodes in no stage or in several: {missing[:10]}")
    names: dict[str, str] = {}
    for node in plan.nodes.values():
        if node.name in names:
            raise StageError(
                f"{node.unique_id} and {names[node.name]} share the name {node.name!r},"
                " which the stage selection uses"
            )
        names[node.name] = node.unique_id
    for unique_id, node in nodes.items():
        if node["resource_type"] in ("test", "unit_test"):
            continue
        for parent in node.get("depends_on", {}).get("nodes", []):
            if parent in plan.nodes and plan.nodes[parent].stage > plan.nodes[unique_id].stage:
                raise StageError(
                    f"{unique_id} (stage {plan.nodes[unique_id].stage}) reads {parent}"
                    f" (stage {plan.nodes[parent].stage}): stages must follow the DAG"
                )
