#!/usr/bin/env python3
"""Builds the fuzz targets' seed corpora from tests/testdata.

usage: make_corpus.py TESTDATA_DIR OUTPUT_DIR

Writes OUTPUT_DIR/{review,yaml,http}/: AdmissionReviews made from every policy
fixture (CREATE, UPDATE, DELETE, dry run, v1beta1, another kind), every YAML
and JSON fixture as YAML input, and HTTP/1.1 byte streams carrying reviews
(plain, chunked, pipelined, split, mTLS, draining) for the HTTP target, whose
first byte is its control byte (see http_fuzzer.cpp).
"""
import copy
import json
import pathlib
import sys


def review(obj, operation="CREATE", api_version="admission.k8s.io/v1", old=None,
           dry_run=False, kind=("istio.alibabacloud.com", "v1beta1", "ASMEgressTrafficPolicy"),
           uid="00000000-0000-0000-0000-000000000001"):
    group, version, k = kind
    meta = obj.get("metadata", {}) if isinstance(obj, dict) else {}
    return {
        "apiVersion": api_version,
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": k},
            "resource": {"group": group, "version": version, "resource": "asmegresstrafficpolicies"},
            "name": meta.get("name", ""),
            "namespace": meta.get("namespace", ""),
            "operation": operation,
            "userInfo": {"username": "admin"},
            "object": None if operation == "DELETE" else obj,
            "oldObject": old,
            "dryRun": dry_run,
        },
    }


def http_request(path, body, *, chunked=False, method="POST", extra=""):
    body = body.encode() if isinstance(body, str) else body
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{extra}"
    if chunked:
        out = head.encode() + b"Transfer-Encoding: chunked\r\n\r\n"
        for i in range(0, len(body), 97):
            part = body[i:i + 97]
            out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
        return out + b"0\r\n\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def main():
    testdata = pathlib.Path(sys.argv[1])
    out = pathlib.Path(sys.argv[2])
    for sub in ("review", "yaml", "http"):
        (out / sub).mkdir(parents=True, exist_ok=True)

    reviews = {"fixture-review": (testdata / "review-create-auto-ports.json").read_text()}
    for path in sorted((testdata / "policies").glob("*.json")):
        obj = json.loads(path.read_text())
        name = path.stem
        reviews[f"{name}-create"] = json.dumps(review(obj))
        reviews[f"{name}-create-dry-run-v1beta1"] = json.dumps(
            review(obj, api_version="admission.k8s.io/v1beta1", dry_run=True))
        old = copy.deepcopy(obj)
        reviews[f"{name}-update"] = json.dumps(review(obj, operation="UPDATE", old=old))
        reviews[f"{name}-delete"] = json.dumps(review(obj, operation="DELETE", old=old))
        reviews[f"{name}-other-kind"] = json.dumps(review(obj, kind=("", "v1", "ConfigMap")))
    for name, text in reviews.items():
        (out / "review" / f"{name}.json").write_text(text)

    for path in sorted(testdata.glob("*.yaml")) + sorted((testdata / "policies").glob("*.json")):
        (out / "yaml" / path.name).write_bytes(path.read_bytes())

    fixture = reviews["fixture-review"]
    small = reviews["explicit-ports-create"]
    streams = {
        "mutate": b"\x00" + http_request("/mutate?timeout=10s", fixture),
        "validate-split": b"\x05" + http_request("/validate?timeout=10s", small),
        "mutate-chunked": b"\x00" + http_request("/mutate", small, chunked=True),
        "pipelined": b"\x00" + http_request("/healthz", b"", method="GET") +
                     http_request("/validate", small) + http_request("/mutate", fixture) +
                     http_request("/metrics", b"", method="GET"),
        "mtls-without-certificate": b"\x20" + http_request("/mutate", small),
        "mtls-with-certificate": b"\x60" + http_request("/mutate", small),
        "draining-readyz": b"\x80" + http_request("/readyz", b"", method="GET"),
        "wrong-content-type": b"\x00" + http_request("/mutate", small).replace(
            b"application/json", b"text/yaml"),
        "wrong-method": b"\x00" + http_request("/mutate", b"", method="GET"),
        "not-found": b"\x00" + http_request("/nowhere", b"{}"),
        "too-large": b"\x00" + b"POST /mutate HTTP/1.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 7340033\r\n\r\n{",
        "expect-continue": b"\x00" + http_request("/validate", small, extra="Expect: 100-continue\r\n"),
        "malformed-review": b"\x00" + http_request("/mutate", '{"kind":"AdmissionReview"}'),
    }
    for name, data in streams.items():
        (out / "http" / name).write_bytes(data)


if __name__ == "__main__":
    main()
