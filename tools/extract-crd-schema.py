#!/usr/bin/python3
"""Writes the JSON schema of one version of a CustomResourceDefinition, for validating manifests offline.

Usage: extract-crd-schema.py CRD.yaml VERSION OUT.json

The schema is the CRD's own openAPIV3Schema, made strict the way kubeconform's and yannh's "strict" schemas are:
every object that lists its properties refuses others (additionalProperties: false) unless the CRD keeps unknown
fields there (x-kubernetes-preserve-unknown-fields), so a misspelt field fails validation instead of being pruned
silently by the API server; apiVersion and kind accept only this resource's values. Nothing else is changed.
Run under Debian's /usr/bin/python3 (python3-yaml); deploy/schemas/README.md says which CRD files were used.
"""

import json
import sys

import yaml


def make_strict(node: object) -> None:
    """Adds additionalProperties: false to every object schema with properties and no preserve-unknown-fields."""
    if isinstance(node, dict):
        if ("properties" in node and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields", False)):
            node["additionalProperties"] = False
        for value in node.values():
            make_strict(value)
    elif isinstance(node, list):
        for value in node:
            make_strict(value)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    crd_path, version_name, out_path = argv[1:]
    with open(crd_path, encoding="utf-8") as crd_file:
        crd = yaml.safe_load(crd_file)
    spec = crd["spec"]
    versions = [v for v in spec["versions"] if v["name"] == version_name]
    if not versions:
        print(f"{crd_path}: no version {version_name}", file=sys.stderr)
        return 1
    schema = versions[0]["schema"]["openAPIV3Schema"]
    make_strict(schema)
    schema["properties"]["apiVersion"]["enum"] = [f"{spec['group']}/{version_name}"]
    schema["properties"]["kind"]["enum"] = [spec["names"]["kind"]]
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(schema, out, indent=1, sort_keys=True)
        out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
