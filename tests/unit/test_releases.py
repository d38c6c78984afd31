"""Model releases (clv_warehouse/modeling/releases.py): what a score build applies, and when
it refuses to."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from clv_warehouse.modeling import releases, tables

CATALOG = pd.DataFrame(
    {
        "feature_name": ["recency", "frequency", "cutoff_month"],
        "is_model_input": [True, True, True],
        "definition": ["days since", "repeat days", "month of the cutoff"],
    }
)
FEATURES = ["recency", "frequency", "cutoff_month"]
SETTINGS = {"horizon_days": 90, "time_unit_days": 7}


def grid(scoring: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cutoff_date": pd.to_datetime(["2020-02-02", "2020-04-02", scoring]),
            "cutoff_role": ["training", "backtest", "scoring"],
        }
    )


def btyd_rows(scoring: str = "2020-07-15") -> pd.DataFrame:
    """modeling.btyd_fits as a release holds it (JSON records: dates as text)."""
    cutoffs = grid(scoring)
    frame = pd.DataFrame({column: [None] * 3 for column in tables.BTYD_FIT_TYPES})
    frame["cutoff_date"] = cutoffs["cutoff_date"].dt.strftime("%Y-%m-%dT00:00:00")
    frame["cutoff_role"] = cutoffs["cutoff_role"]
    frame["status"] = "fitted"
    frame["r"] = [0.2, 0.25, 0.3]
    frame["model_version"] = ["v-training", "v-backtest", "v-production"]
    frame["fitted_at_date"] = ["2020-02-02", "2020-04-02", "2020-07-01"]
    return json.loads(frame.to_json(orient="records"))


def xgboost_rows(contract: dict) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {column: None for column in tables.XGBOOST_FIT_TYPES}
            | {"phase": phase, "target": target, "scored_cutoff_date": scored}
            for phase, scored in (("backtest", "2020-04-02"), ("production", "2020-07-15"))
            for target in ("spend", "purchase")
        ]
    )
    frame["model_version"] = "xgboost-3+abc"
    frame["calibration"] = "{}"
    return frame.assign(release_id="release-x", feature_contract=json.dumps(contract))


def test_the_release_id_names_the_models_and_the_contract():
    contract = releases.feature_contract(FEATURES, CATALOG, SETTINGS)
    fits = pd.DataFrame(btyd_rows())
    boosters = xgboost_rows(contract)
    first = releases.release_id(fits, boosters, contract)
    assert first.startswith("release-")
    assert len(first) == len("release-") + 12
    # the same models: the same id (training twice in a month changes nothing)
    assert releases.release_id(fits.copy(), boosters.copy(), dict(contract)) == first
    # another production fit, booster or contract: another id
    refitted = fits.assign(model_version=["v-training", "v-backtest", "v-other"])
    assert releases.release_id(refitted, boosters, contract) != first
    retrained = boosters.assign(model_version="xgboost-3+def")
    assert releases.release_id(fits, retrained, contract) != first
    other = releases.feature_contract(FEATURES, CATALOG, {**SETTINGS, "horizon_days": 30})
    assert releases.release_id(fits, boosters, other) != first
    # the backtest's fits are not production models
    backtest_only = fits.assign(model_version=["v-x", "v-y", "v-production"])
    assert releases.release_id(backtest_only, boosters, contract) == first


def test_a_score_applies_the_release_fits_at_the_new_scoring_cutoff():
    applied = releases.applied_btyd_fits(pd.DataFrame(btyd_rows()), grid("2020-08-03"), "rel")
    assert applied["cutoff_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2020-02-02",
        "2020-04-02",
        "2020-08-03",
    ]
    scoring = applied.iloc[2]
    assert scoring["model_version"] == "v-production"
    assert scoring["fitted_at_date"] == pd.Timestamp("2020-07-01")
    assert list(applied.columns) == list(tables.BTYD_FIT_TYPES)


def test_a_score_refuses_a_release_of_another_grid():
    moved = grid("2020-08-03").assign(
        cutoff_date=pd.to_datetime(["2020-03-03", "2020-05-02", "2020-08-03"])
    )
    with pytest.raises(releases.ReleaseMismatch, match=r"another cutoff grid.*clv train"):
        releases.applied_btyd_fits(pd.DataFrame(btyd_rows()), moved, "rel")


def test_a_score_applies_the_boosters_to_the_new_scoring_cutoff():
    contract = releases.feature_contract(FEATURES, CATALOG, SETTINGS)
    applied = releases.applied_xgboost_fits(
        xgboost_rows(contract), grid("2020-08-03"), contract, "rel"
    )
    scored = applied.set_index(["phase", "target"])["scored_cutoff_date"]
    assert scored["production"].tolist() == ["2020-08-03", "2020-08-03"]
    assert scored["backtest"].tolist() == ["2020-04-02", "2020-04-02"]
    assert (applied["release_id"] == "release-x").all()


@pytest.mark.parametrize(
    ("features", "catalog", "settings", "said"),
    [
        (FEATURES[:2], CATALOG, SETTINGS, "missing now: cutoff_month; new: none"),
        (FEATURES[::-1], CATALOG, SETTINGS, "the same features in another order"),
        (FEATURES, CATALOG.assign(definition="changed"), SETTINGS, "another reference.feature"),
        (FEATURES, CATALOG, {**SETTINGS, "horizon_days": 30}, "horizon_days 90 -> 30"),
    ],
)
def test_a_score_refuses_boosters_trained_on_other_features(features, catalog, settings, said):
    trained = releases.feature_contract(FEATURES, CATALOG, SETTINGS)
    current = releases.feature_contract(features, catalog, settings)
    with pytest.raises(releases.ReleaseMismatch) as refused:
        releases.applied_xgboost_fits(xgboost_rows(trained), grid("2020-08-03"), current, "rel")
    message = str(refused.value)
    assert said in message
    assert message.startswith("rel ")
    assert "run `clv train`" in message


def test_release_settings_and_rows_refuse_what_is_missing():
    assert releases.release_settings_from_config('{"job": "train", "release_id": ""}') == (
        "train",
        None,
    )
    assert releases.release_settings_from_config('{"job": "score", "release_id": "r"}') == (
        "score",
        "r",
    )
    with pytest.raises(ValueError, match="needs a release"):
        releases.release_settings_from_config('{"job": "score", "release_id": ""}')
    with pytest.raises(ValueError, match="train or score"):
        releases.release_settings_from_config('{"job": "deploy"}')
    payload = pd.DataFrame({"release_id": ["a"], "btyd_fits": ["[]"]})
    with pytest.raises(releases.ReleaseMismatch, match="no release b"):
        releases.release_rows(payload, "b", "btyd_fits")


def test_a_kept_release_holds_the_fits_exactly():
    """The release keeps the BG/NBD parameters as trained, to the last bit: `clv score` must
    apply the trained model, and a prediction's key hashes the exact parameters. Stored with
    pandas' to_json (10 decimals) a parameter came back about 1e-10 off."""
    from clv_warehouse import release_store

    fits = pd.DataFrame(
        {
            "cutoff_date": pd.to_datetime(["2020-02-02", "2020-07-15"]),
            "cutoff_role": ["training", "scoring"],
            "status": ["fitted", "no_customers"],
            "r": [0.12345678901234568, float("nan")],
            "alpha": [123456.78901234567, None],
            "customers": pd.array([1200, 0], dtype="Int64"),
            "penalizer": pd.array([0.001, None], dtype="Float64"),
        }
    )
    payload = pd.DataFrame(
        {"release_id": ["release-x"], "btyd_fits": [release_store._records(fits)]}
    )
    back = releases.release_rows(payload, "release-x", "btyd_fits")
    assert back["r"].iloc[0] == fits["r"].iloc[0]
    assert back["alpha"].iloc[0] == fits["alpha"].iloc[0]
    assert pd.isna(back["r"].iloc[1])
    assert pd.isna(back["alpha"].iloc[1])
    assert back["cutoff_date"].tolist() == ["2020-02-02T00:00:00", "2020-07-15T00:00:00"]
    assert back["customers"].tolist() == [1200, 0]
    assert back["penalizer"].iloc[0] == 0.001
    assert pd.isna(back["penalizer"].iloc[1])
