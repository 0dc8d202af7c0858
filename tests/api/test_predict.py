"""`POST /predict`: the contract for good input, and a problem+json answer for every bad one."""

import json

import numpy as np
import pytest

from prediris_api.protocol.codecs import PredictEncoder, PredictRequest
from prediris_model.dataset import load_dataset

SETOSA = [5.1, 3.5, 1.4, 0.2]


def post(client, body, content_type="application/json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/predict", data=data, content_type=content_type)


def test_the_seed_request_returns_a_prediction(client, loaded):
    response = post(client, {"X": SETOSA})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "prediction": "setosa",
        "class_id": 0,
        "probabilities": {"setosa": 1.0, "versicolor": 0.0, "virginica": 0.0},
        "model_version": loaded.card["sha256"][:12],
    }


def test_a_one_row_reply_is_the_json_of_its_fields_whatever_the_names_hold():
    names = ("50%", 'a "quoted" %r', "%s%%")
    encoder = PredictEncoder(names, "v%1")
    proba = [0.1, 0.2, 1 / 3]
    for label, name in enumerate(names):
        reply = encoder.encode(PredictRequest(np.array([SETOSA]), batch=False), np.array([label]), np.array([proba]), [])
        assert json.loads(reply) == {
            "prediction": name,
            "class_id": label,
            "probabilities": dict(zip(names, proba, strict=True)),
            "model_version": "v%1",
        }


def test_named_features_give_the_same_answer_as_the_ordered_row(client):
    named = {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}
    assert post(client, {"X": named}).get_json() == post(client, {"X": [6.3, 3.3, 6.0, 2.5]}).get_json()


def test_integers_are_accepted_as_measurements(client):
    assert post(client, {"X": [5, 3, 1, 0]}).status_code == 200


def test_a_batch_returns_one_prediction_per_row(client):
    response = post(client, {"X": [SETOSA, [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5]]})
    body = response.get_json()
    assert response.status_code == 200
    assert [item["prediction"] for item in body["predictions"]] == ["setosa", "versicolor", "virginica"]
    assert set(body) == {"predictions", "model_version"}


def test_a_batch_may_mix_ordered_and_named_rows(client):
    named = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    body = post(client, {"X": [SETOSA, named]}).get_json()
    assert body["predictions"][0] == body["predictions"][1]


def test_predictions_equal_the_models_for_all_150_iris_rows(client, loaded):
    features, _ = load_dataset()
    body = post(client, {"X": features.tolist()}).get_json()
    expected_labels = loaded.estimator.predict(features)
    expected_proba = loaded.estimator.predict_proba(features)
    assert [item["class_id"] for item in body["predictions"]] == expected_labels.tolist()
    served = np.array([list(item["probabilities"].values()) for item in body["predictions"]])
    assert np.array_equal(served, expected_proba)


def test_each_iris_row_sent_alone_matches_the_model(client, loaded):
    features, _ = load_dataset()
    for row, label, proba in zip(features, loaded.estimator.predict(features), loaded.estimator.predict_proba(features), strict=True):
        body = post(client, {"X": row.tolist()}).get_json()
        assert body["class_id"] == label
        assert list(body["probabilities"].values()) == proba.tolist()


def test_values_outside_the_training_range_are_predicted_with_a_warning(client):
    body = post(client, {"X": [9.5, 3.5, 1.4, 0.2]}).get_json()
    assert body["prediction"] in {"setosa", "versicolor", "virginica"}
    [warning] = body["warnings"]
    assert warning["feature"] == "sepal_length"
    assert warning["value"] == 9.5
    assert warning["training_range"] == [4.3, 7.9]
    assert "outside the training range" in warning["message"]


def test_batch_warnings_name_the_row(client):
    body = post(client, {"X": [SETOSA, [5.1, 3.5, 1.4, 9.0]]}).get_json()
    assert [(item["row"], item["feature"]) for item in body["warnings"]] == [(1, "petal_width")]


BAD_REQUESTS = [
    # id, body, content type, status, problem slug, pointer of the first error (or None)
    ("not-json", b"{X: [1, 2]}", "application/json", 400, "invalid-json", None),
    ("invalid-utf8", b'{"X": "\xff"}', "application/json", 400, "invalid-json", None),
    ("content-type-text", b'{"X": [5.1, 3.5, 1.4, 0.2]}', "text/plain", 415, "unsupported-media-type", None),
    ("content-type-form", b"X=1", "application/x-www-form-urlencoded", 415, "unsupported-media-type", None),
    ("empty-body", b"", "application/json", 400, "empty-body", None),
    ("blank-body", b"  \n", "application/json", 400, "empty-body", None),
    ("top-level-array", [SETOSA], "application/json", 400, "not-an-object", None),
    ("top-level-number", 5, "application/json", 400, "not-an-object", None),
    ("x-missing", {"rows": [SETOSA]}, "application/json", 400, "missing-field", "/X"),
    ("unknown-field", {"X": SETOSA, "debug": True}, "application/json", 400, "unknown-field", "/debug"),
    ("three-features", {"X": [5.1, 3.5, 1.4]}, "application/json", 400, "invalid-shape", "/X"),
    ("five-features", {"X": [5.1, 3.5, 1.4, 0.2, 1.0]}, "application/json", 400, "invalid-shape", "/X"),
    ("empty-row", {"X": []}, "application/json", 400, "invalid-shape", "/X"),
    ("empty-batch-row", {"X": [[]]}, "application/json", 400, "invalid-shape", "/X/0"),
    ("ragged-batch", {"X": [SETOSA, [1.0, 2.0]]}, "application/json", 400, "invalid-shape", "/X/1"),
    ("mixed-rows-and-numbers", {"X": [SETOSA, 1.0]}, "application/json", 400, "invalid-shape", "/X"),
    ("nested-deeper-than-a-batch", {"X": [[[5.1], 3.5, 1.4, 0.2]]}, "application/json", 400, "invalid-shape", "/X/0/0"),
    ("x-is-a-string", {"X": "5.1,3.5,1.4,0.2"}, "application/json", 400, "invalid-shape", "/X"),
    ("string-value", {"X": [5.1, "3.5", 1.4, 0.2]}, "application/json", 400, "invalid-value", "/X/1"),
    ("boolean-value", {"X": [5.1, 3.5, True, 0.2]}, "application/json", 400, "invalid-value", "/X/2"),
    ("null-value", {"X": [5.1, 3.5, 1.4, None]}, "application/json", 400, "invalid-value", "/X/3"),
    ("nan-literal", b'{"X": [NaN, 3.5, 1.4, 0.2]}', "application/json", 400, "invalid-json", None),
    ("infinity-literal", b'{"X": [Infinity, 3.5, 1.4, 0.2]}', "application/json", 400, "invalid-json", None),
    ("minus-infinity-literal", b'{"X": [-Infinity, 3.5, 1.4, 0.2]}', "application/json", 400, "invalid-json", None),
    ("float-overflow", b'{"X": [1e400, 3.5, 1.4, 0.2]}', "application/json", 400, "invalid-value", "/X/0"),
    ("integer-overflow", b'{"X": [1' + b"0" * 400 + b", 3.5, 1.4, 0.2]}", "application/json", 400, "invalid-value", "/X/0"),
    ("negative-measurement", {"X": [5.1, -3.5, 1.4, 0.2]}, "application/json", 400, "invalid-value", "/X/1"),
    (
        "named-unknown-feature",
        {"X": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2, "color": 1}},
        "application/json",
        400,
        "unknown-field",
        "/X/color",
    ),
    (
        "named-missing-feature",
        {"X": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4}},
        "application/json",
        400,
        "missing-field",
        "/X/petal_width",
    ),
    ("deep-nesting", b'{"X": ' + b"[" * 20000 + b"]" * 20000 + b"}", "application/json", 400, "invalid-json", None),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "slug", "pointer"), [case[1:] for case in BAD_REQUESTS], ids=[case[0] for case in BAD_REQUESTS]
)
def test_bad_input_gets_a_problem_json_reply(client, body, content_type, status, slug, pointer):
    response = post(client, body, content_type)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = response.get_json(force=True)
    assert problem["type"] == f"/problems/{slug}"
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    assert problem["instance"] == "/predict"
    if pointer is not None:
        assert problem["errors"][0]["pointer"] == pointer
        assert problem["errors"][0]["detail"]


def test_a_near_miss_key_gets_a_hint(client):
    problem = post(client, {"x": SETOSA}).get_json()
    assert 'did you mean "X"' in problem["detail"]


def test_every_bad_value_of_a_batch_is_pointed_at(client):
    problem = post(client, {"X": [[5.1, "a", 1.4, 0.2], SETOSA, [5.1, 3.5, -1, None]]}).get_json()
    assert [error["pointer"] for error in problem["errors"]] == ["/X/0/1", "/X/2/2", "/X/2/3"]
    assert "(and 2 more)" in problem["detail"]


def test_a_batch_over_the_limit_is_refused(model_dir, metrics):
    from prediris_api import create_app

    small = create_app({"model_dir": str(model_dir), "metrics": metrics, "max_batch_rows": 3}).test_client()
    assert post(small, {"X": [SETOSA] * 3}).status_code == 200
    response = post(small, {"X": [SETOSA] * 4})
    assert response.status_code == 413
    assert response.get_json()["type"] == "/problems/batch-too-large"


def test_a_body_over_the_size_limit_is_refused_with_413(client):
    body = json.dumps({"X": [SETOSA] * 5000}).encode()
    assert len(body) > 64 * 1024
    response = post(client, body)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "/problems/body-too-large"


def test_wrong_method_answers_405_problem_json_with_allow(client):
    response = client.get("/predict")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"]


def test_unknown_route_answers_404_problem_json(client):
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "/problems/not-found"


def test_problem_types_are_documented_by_the_api(client):
    response = client.get("/problems/invalid-value")
    assert response.status_code == 200
    assert response.get_json()["status"] == 400


def test_an_unexpected_error_is_a_problem_without_a_trace(app, client, monkeypatch):
    from prediris_api.service import EXTENSION

    def explode(rows):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.extensions[EXTENSION].runtime, "predict", explode)
    response = post(client, {"X": SETOSA})
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


LONG_NAME = "k" * 10_000


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"X": SETOSA, LONG_NAME: 1}, 'unknown member "kkkk'),
        ({"X": SETOSA, **{f"{index}{LONG_NAME}": 1 for index in range(6)}}, "and 3 more"),
        ({"X": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2, LONG_NAME: 1}}, "/X/kkkk"),
        ({"X": [{LONG_NAME[:1000] + str(index): 1} for index in range(40)]}, "(and 9 more)"),
    ],
    ids=["one-10kb-member", "six-10kb-members", "a-10kb-feature-name", "forty-1kb-feature-names"],
)
def test_a_problem_never_echoes_more_than_a_few_cut_names(client, body, fragment):
    response = post(client, body)
    reply = response.get_data(as_text=True)
    problem = response.get_json()
    assert response.status_code == 400
    assert fragment in " ".join([problem["detail"], *(error["pointer"] for error in problem["errors"])])
    assert len(reply) < 4000 and LONG_NAME[:1000] not in reply


def test_a_huge_integer_is_refused_in_our_words_not_the_interpreters(client):
    problem = post(client, b'{"X": [1' + b"0" * 5000 + b", 3.5, 1.4, 0.2]}").get_json()
    assert problem["type"] == "/problems/invalid-json"
    assert problem["detail"] == "the body holds an integer of more than 4300 digits; send measurements as numbers"


def test_a_long_path_or_method_is_cut_in_the_reply(client):
    path = "/" + "p" * 10_000
    for response in (client.get(path), client.open("/predict", method="X" * 10_000)):
        reply = response.get_data(as_text=True)
        assert response.status_code in (404, 405) and len(reply) < 1000, reply
