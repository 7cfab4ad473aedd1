"""Regenerate devstore/polaris_components.json from Polaris's Custom Elements Manifest.

    npm pack @shopify/polaris-types && tar xzf shopify-polaris-types-*.tgz
    python tools/polaris_manifest.py package/dist/custom-elements.json

Only names are kept (tags, attributes, events, slots): the devstore's Polaris stand-in checks the app's markup
against them, the way it checks GraphQL documents against the Admin schema.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "devstore" / "polaris_components.json"


def main(manifest_path: str) -> None:
    manifest = json.loads(Path(manifest_path).read_text())
    components: dict[str, dict[str, list[str]]] = {}
    for module in manifest["modules"]:
        for declaration in module.get("declarations", []):
            tag = declaration.get("tagName")
            if not tag:
                continue
            components[tag] = {
                "attributes": sorted({a["name"] for a in declaration.get("attributes", [])}),
                "events": sorted({e["name"] for e in declaration.get("events", [])}),
                "slots": sorted({s.get("name", "") for s in declaration.get("slots", [])}),
            }
    out = {
        "_source": (
            "Tag, attribute, event and slot names of Shopify's Polaris web components, from the Custom Elements"
            " Manifest in npm @shopify/polaris-types 1.1.0 (dist/custom-elements.json). Regenerate with"
            " tools/polaris_manifest.py."
        ),
        "components": components,
    }
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
