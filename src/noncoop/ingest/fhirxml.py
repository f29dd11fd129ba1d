"""FHIR resources written as XML, read into the JSON form the FHIR importer reads.

FHIR XML puts a primitive's value in a `value` attribute and repeats an element for each item of
a list; the JSON form has `"name": value` and arrays. Without the full structure definitions, an
element that appears once is read as one value, and the few the importer reads as lists accept
either. Parsed with defusedxml: an export's XML can never reach the network or expand entities.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, tostring

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

FHIR_URI = "http://hl7.org/fhir"
FHIR_NS = "{" + FHIR_URI + "}"
# Set on each resource read from XML: its XML as written, kept in the quarantine if it fails
# (FHIR JSON has no key of this form).
XML_TEXT = "__xml__"
# Elements whose content is a resource (`<resource><Appointment>…</Appointment></resource>`).
RESOURCE_HOLDERS = ("resource", "contained")


def read_xml(path: Path) -> dict | None:
    """The document as FHIR JSON (a Bundle or one resource), or None if it is not XML."""
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, DefusedXmlException, UnicodeDecodeError):
        return None
    document = _resource(root)
    if document["resourceType"] != "Bundle":
        document[XML_TEXT] = _written(root)
    return document


def _written(element: Element) -> str:
    """The element as XML text, with the FHIR namespace as the default one, as FHIR writes it
    (the serialiser names it `ns0:`; attribute values cannot hold a '<')."""
    text = tostring(element, encoding="unicode")
    found = re.search(r'xmlns:(ns\d+)="' + re.escape(FHIR_URI) + '"', text)
    if found is None:
        return text
    prefix = found.group(1)
    text = text.replace(found.group(0), f'xmlns="{FHIR_URI}"', 1)
    return re.sub(rf"<(/?){prefix}:", r"<\1", text)


def _name(element: Element) -> str:
    return element.tag.removeprefix(FHIR_NS).split("}")[-1]


def _resource(element: Element) -> dict:
    return {"resourceType": _name(element), **_content(element)}


def _content(element: Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        name = _name(child)
        value = _value(child, name)
        if name in out:
            out[name] = [*out[name], value] if isinstance(out[name], list) else [out[name], value]
        else:
            out[name] = value
    for attr in ("id", "url"):  # an element's own id, an extension's url
        if attr in element.attrib and attr not in out:
            out[attr] = element.attrib[attr]
    return out


def _value(element: Element, name: str) -> Any:
    if name in RESOURCE_HOLDERS:
        inner = list(element)
        if not inner:
            return {}
        resource = _resource(inner[0])
        if name == "resource":  # a Bundle entry's: what the quarantine shows if it fails
            resource[XML_TEXT] = _written(inner[0])
        return resource
    if name == "div":  # narrative XHTML: not read
        return ""
    if "value" in element.attrib and not len(element):
        return element.attrib["value"]
    content = _content(element)
    if "value" in element.attrib:
        content["value"] = element.attrib["value"]
    return content
