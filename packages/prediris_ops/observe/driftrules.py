"""The drift rules, written from one function so their window is a parameter (observability/rules/drift.yml).

Population stability index (PSI) of the last window of traffic against the model card's reference,
per job, model version and feature, from two series the service exports (prediris_metrics):
rows per feature and bin (a counter) and the card's share of each bin (a gauge). Shares are the
rows of a bin over the feature's rows in the window; PSI = sum over bins of (share - ref) *
ln(share / ref), both clamped to at least EPSILON so an empty bin scores high but finite. Every
model version brings its own bins and reference, so a canary is compared with its own training data.
The same for the predicted classes against the training labels' shares. docs/drift.md explains the
choices; `python -m prediris_ops.observe.rulefiles` rewrites the file after a change here.
"""

from typing import Any

WINDOW = "1h"
FOR = "15m"
THRESHOLD = 0.2
MIN_ROWS = 1000
EPSILON = 0.0001

FEATURE_PSI = "prediris:feature_drift_psi"
CLASS_PSI = "prediris:class_drift_psi"


def _psi(share: str, reference: str, by: str) -> str:
    return f"sum by ({by}) (\n  ({share} - {reference})\n  * ln({share} / {reference})\n)"


def _share(rows: str, total: str, on: str, epsilon: float) -> str:
    return f"clamp_min(\n  {rows}\n  / on ({on}) group_left ()\n  ({total} > 0),\n  {epsilon}\n)"


def drift_group(
    window: str = WINDOW, for_: str = FOR, threshold: float = THRESHOLD, min_rows: int = MIN_ROWS, epsilon: float = EPSILON
) -> dict[str, Any]:
    """Return the rule group: rows and shares in the window, the two PSI series and the alert."""
    bin_rows = f"job_version_feature_bin:prediris_feature_rows:increase{window}"
    feature_rows = f"job_version_feature:prediris_feature_rows:increase{window}"
    bin_share = f"job_version_feature_bin:prediris_feature_rows:share{window}"
    class_rows = f"job_version_class_name:prediris_predictions:increase{window}"
    version_rows = f"job_version:prediris_predictions:increase{window}"
    class_share = f"job_version_class_name:prediris_predictions:share{window}"
    # The reference, once per model version (every replica of a version exports the same shares), clamped.
    feature_reference = "job_version_feature_bin:prediris_feature_reference_share:clamped"
    class_reference = "job_version_class_name:prediris_class_reference_share:clamped"
    rules: list[dict[str, Any]] = [
        {"record": bin_rows, "expr": f"sum by (job, model_version, feature, bin) (increase(prediris_feature_rows_total[{window}]))"},
        {"record": feature_rows, "expr": f"sum by (job, model_version, feature) ({bin_rows})"},
        {
            "record": bin_share,
            "expr": _share(bin_rows, feature_rows, "job, model_version, feature", epsilon),
        },
        {
            "record": feature_reference,
            "expr": f"clamp_min(max by (job, model_version, feature, bin) (prediris_feature_reference_share), {epsilon})",
        },
        {"record": FEATURE_PSI, "expr": _psi(bin_share, feature_reference, "job, model_version, feature")},
        # prediris_predictions_total has no model_version: it comes from the replica's prediris_model_info.
        {
            "record": class_rows,
            "expr": (
                f"sum by (job, model_version, class_name) (\n  increase(prediris_predictions_total[{window}])\n"
                "  * on (job, instance) group_left (model_version) prediris_model_info\n)"
            ),
        },
        {"record": version_rows, "expr": f"sum by (job, model_version) ({class_rows})"},
        {
            "record": class_share,
            "expr": _share(class_rows, version_rows, "job, model_version", epsilon),
        },
        {
            "record": class_reference,
            "expr": f"clamp_min(max by (job, model_version, class_name) (prediris_class_reference_share), {epsilon})",
        },
        {"record": CLASS_PSI, "expr": _psi(class_share, class_reference, "job, model_version")},
        {
            "alert": "PredirisFeatureDrift",
            "expr": f"{FEATURE_PSI} > {threshold}\nand on (job, model_version, feature)\n{feature_rows} >= {min_rows}",
            "for": for_,
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": (
                    "{{ $labels.feature }} no longer looks like the training data of model {{ $labels.model_version }} "
                    '(PSI {{ $value | printf "%.2f" }})'
                ),
                "description": (
                    f"Over the last {window}, the population stability index of {{{{ $labels.feature }}}} against the "
                    f"model card's training split has stayed above {threshold} for {for_}, with at least {min_rows} rows "
                    "in the window: the inputs have shifted and accuracy may fall. Look at the Drift panel of the "
                    "Grafana dashboard and at the clients' payloads (a unit change, a new population); if the new "
                    "values are genuine, retrain with `invoke train` on data that covers them and roll the model out "
                    "with `invoke deploy --canary` (docs/drift.md)."
                ),
            },
        },
    ]
    return {"name": "prediris-drift", "rules": rules}
