#!/usr/bin/python3
"""Reads and validates the YAML manifests of deploy/ for tests/Sharpserve.Deploy.Tests (Debian's python3-yaml and
python3-jsonschema, under /usr/bin/python3).

  manifests.py documents FILE      prints the YAML documents of FILE as one JSON array
  manifests.py validate FILE...    validates every document of each FILE against the vendored JSON schema of its
                                   apiVersion and kind (deploy/schemas/README.md), and prints one JSON object per
                                   document: {"file", "index", "kind", "schema", "errors": [...]}; a document whose
                                   kind has no schema there is an error, not a pass
"""

import json
import os
import sys

import jsonschema
import yaml

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "schemas")

# (apiVersion, kind) -> schema file under deploy/schemas.
SCHEMA_FILES = {
    ("apps/v1", "Deployment"): "kubernetes-v1.32.2/deployment-apps-v1.json",
    ("v1", "Service"): "kubernetes-v1.32.2/service-v1.json",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "kubernetes-v1.32.2/horizontalpodautoscaler-autoscaling-v2.json",
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"): "schemastore/kustomization.json",
    ("serving.kserve.io/v1alpha1", "ClusterServingRuntime"): "kserve-v0.20.0/clusterservingruntime-serving-v1alpha1.json",
    ("serving.kserve.io/v1beta1", "InferenceService"): "kserve-v0.20.0/inferenceservice-serving-v1beta1.json",
}


def load_documents(path: str) -> list[object]:
    """The documents of a YAML file, empty ones (a trailing ---) left out."""
    with open(path, encoding="utf-8") as stream:
        return [document for document in yaml.safe_load_all(stream) if document is not None]


def describe(error: jsonschema.ValidationError) -> str:
    """One line: where in the document, and what is wrong."""
    where = "/".join(str(part) for part in error.absolute_path) or "(the document)"
    return f"{where}: {error.message}"


def validate(path: str) -> list[dict[str, object]]:
    results = []
    for index, document in enumerate(load_documents(path)):
        key = (document.get("apiVersion"), document.get("kind")) if isinstance(document, dict) else (None, None)
        result: dict[str, object] = {"file": path, "index": index, "kind": key[1], "schema": None, "errors": []}
        schema_file = SCHEMA_FILES.get(key)
        if schema_file is None:
            result["errors"] = [f"no vendored schema for apiVersion {key[0]!r}, kind {key[1]!r}"]
        else:
            result["schema"] = schema_file
            with open(os.path.join(SCHEMAS, schema_file), encoding="utf-8") as schema_stream:
                schema = json.load(schema_stream)
            validator = jsonschema.Draft7Validator(schema)
            result["errors"] = sorted(describe(error) for error in validator.iter_errors(document))
        results.append(result)
    return results


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "documents":
        json.dump(load_documents(argv[2]), sys.stdout)
        return 0
    if len(argv) >= 3 and argv[1] == "validate":
        for path in argv[2:]:
            for result in validate(path):
                print(json.dumps(result))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
