from __future__ import annotations

import yaml

from clv_warehouse import codegen

KNOWN_TYPES = {"bigint", "double", "date", "varchar", "boolean"}


def test_generated_yaml_is_up_to_date():
    assert codegen.OUTPUT_PATH.read_text(encoding="utf-8") == codegen.render(), (
        "run: python -m clv_warehouse.codegen"
    )


def test_catalog_is_complete_and_consistent():
    features = codegen.read_catalog()
    names = [feature.name for feature in features]
    assert len(names) == len(set(names))
    assert {feature.data_type for feature in features} <= KNOWN_TYPES
    assert all(len(feature.description) > 20 for feature in features)
    assert sum(feature.is_model_input for feature in features) >= 40
    # the BTYD summary and the windows the issue asks for are there
    for name in (
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "revenue_last_365d",
        "orders_last_30d",
    ):
        assert name in names


def test_every_feature_column_is_described_typed_and_tested():
    document = yaml.safe_load(codegen.render())
    models = {model["name"]: model for model in document["models"]}
    features = {feature.name: feature for feature in codegen.read_catalog()}
    for model in models.values():
        assert model["config"]["contract"]["enforced"] is True
        columns = {column["name"]: column for column in model["columns"]}
        (rules,) = [
            test["columns_meet_catalog_rules"]["arguments"]
            for test in model["data_tests"]
            if "columns_meet_catalog_rules" in test
        ]
        for name, feature in features.items():
            column = columns[name]
            assert column["data_type"] == codegen.portable_type(feature.data_type)
            assert column["description"] == feature.description
            assert (name in rules["not_null"]) is (not feature.is_nullable)
            assert rules["min_values"].get(name) == feature.min_value


def test_check_mode_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "stale.yml"
    stale.write_text("version: 2\n")
    monkeypatch.setattr(codegen, "OUTPUT_PATH", stale)
    assert codegen.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().out
    assert codegen.main([]) == 0
    assert codegen.main(["--check"]) == 0
