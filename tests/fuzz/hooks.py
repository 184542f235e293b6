"""Schemathesis hooks of scripts/fuzz-api: the API's rules that no OpenAPI schema can state.

A schema constrains one value at a time. These rules relate several values, or a value and stored data, so
generated *positive* data (which the API must accept) is adjusted to follow them just before it is sent;
negative data is left alone. Each rule is documented in docs/openapi.json's descriptions, and every one of
them is answered 400/422 by the API when broken — which the fuzzer would otherwise report as valid data
refused:

- a `cursor` is opaque: only a `next_cursor` the API gave is valid, so positive requests send none;
- `GET /products`: `min_price` <= `max_price`; `include_subcategories=true` needs a `category`;
- analytics reports: `from` <= `to`, `to` before 9999-12-31 (the day after must exist), a sales report has at
  most 400 buckets;
- ids in bodies name existing, active data: an order's products (each once, all in EUR, the demo catalog's
  currency), a product's category, a category's parent;
- a category without a `slug` derives one from its name's ASCII letters and digits, so needs some;
- an `Idempotency-Key` reused with other lines is a 422, so each positive order gets a key of its own;
- `PUT /products/{id}` with `stock` needs `If-Match` with the product's current `ETag` (428/412 otherwise),
  and any `If-Match` it sends must be current: the hook reads it as the admin and sets it; for a product that
  does not exist it drops `stock` and `If-Match` (a 404 either way);
- a stock adjustment's `delta` is not 0.

Two more adjustments keep the run meaningful rather than the data valid: `PUT`/`DELETE` of the products and
categories the hooks use never reach them (a system shared with others, as on Spin, keeps them too), and
requests (positive or negative) to `/users/{id}` never target the fuzzing admin itself (by its id in any spelling, or as `me`), which a deleted, deactivated or demoted admin would turn
every later admin request into a 403/404.

The catalog is read once from the system under test (PYCOMMERCE_FUZZ_BASE_URL), through its public API.
"""

import datetime
import json
import os
import random
import re
import threading
import urllib.parse
import urllib.request
import uuid

import schemathesis

BASE_URL = os.environ.get("PYCOMMERCE_FUZZ_BASE_URL", "http://127.0.0.1:3000").rstrip("/")
_lock = threading.Lock()
_catalog = None
_random = random.Random(int(os.environ.get("PYCOMMERCE_FUZZ_SEED", "1")))


def _get(path):
    with urllib.request.urlopen(BASE_URL + path, timeout=30) as response:
        return json.load(response)


def _admin_id():
    request = urllib.request.Request(
        BASE_URL + "/users/me", headers={"Authorization": "Bearer " + os.environ.get("PYCOMMERCE_FUZZ_TOKEN", "")}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["id"]
    except Exception:
        return None


def _etag(product_id):
    """The current `ETag` of a product, read as the admin; None when it cannot be read."""
    request = urllib.request.Request(
        BASE_URL + "/products/" + urllib.parse.quote(product_id, safe=""),
        headers={"Authorization": "Bearer " + os.environ.get("PYCOMMERCE_FUZZ_TOKEN", "")},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.headers.get("ETag")
    except Exception:
        return None


def catalog():
    """Active EUR products and all categories (first pages), read once."""
    global _catalog
    with _lock:
        if _catalog is None:
            products = [p["id"] for p in _get("/products?currency=EUR&in_stock=true&limit=100")["items"]]
            categories = [c["id"] for c in _get("/categories?limit=100")["items"]]
            _catalog = {"products": products, "categories": categories, "admin": _admin_id()}
        return _catalog


def _truthy(value):
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value):
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return None


MAX_DATE = datetime.date(9999, 12, 30)
# The longest span of a sales report: 400 buckets of the period.
SPAN = {"day": datetime.timedelta(days=399), "week": datetime.timedelta(weeks=398), "month": datetime.timedelta(days=398 * 28)}


def _report_range(query, sales):
    start, end = _date(query.get("from")), _date(query.get("to"))
    if "to" in query and end is not None and end > MAX_DATE:
        end = MAX_DATE
        query["to"] = end.isoformat()
    if start is not None and end is None:
        # Without `to` the range ends today: a later `from` needs an explicit `to`.
        end = max(start, datetime.date.today())
        end = min(end, MAX_DATE)
        query["to"] = end.isoformat()
    if start is not None and end is not None and start > end:
        start, end = end, start
        query["from"], query["to"] = start.isoformat(), end.isoformat()
    if sales:
        period = str(query.get("period", "day"))
        span = SPAN.get(period, SPAN["day"])
        end = end or datetime.date.today()
        start = start or (end - datetime.timedelta(days=29))
        if end - start > span:
            query["from"] = (end - span).isoformat()


def _same_uuid(value, wanted):
    """Whether path id `value` may name `wanted`: its UUID in any spelling the API accepts (hyphenated or not,
    braces, `urn:uuid:`, any case), as the Rust `uuid` crate parses them, or `me` (every `/users/{id}` route
    takes it for the caller, the fuzzing admin; elsewhere it is a 404 either way)."""
    if str(value) == "me":
        return True
    try:
        return uuid.UUID(str(value).strip()) == uuid.UUID(wanted)
    except (ValueError, TypeError):
        return False


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path.startswith("/users/{id}") and isinstance(case.path_parameters, dict):
        admin = catalog()["admin"]
        if admin is not None and _same_uuid(case.path_parameters.get("id", ""), admin):
            case.path_parameters["id"] = str(uuid.uuid4())
    # The coverage phase also sends methods the document does not list for a path, expecting 405; but
    # `/users/me` is also `/users/{id}` with the caller's id, so a DELETE or PUT there would remove or change
    # the fuzzing admin. Those go as PATCH, which no route has (405 all the same).
    if case.operation.path == "/users/me" and case.method.upper() in ("PUT", "DELETE", "POST"):
        case.method = "PATCH"
    # The products and categories the hooks put into generated orders and products stay as they were read:
    # writes and deletes aimed at them go to an id nobody has (404) instead.
    if (
        case.method.upper() in ("PUT", "DELETE")
        and case.operation.path in ("/products/{id}", "/categories/{id}")
        and isinstance(case.path_parameters, dict)
    ):
        known = catalog()
        kept = known["products"] if case.operation.path.startswith("/products") else known["categories"]
        if any(_same_uuid(case.path_parameters.get("id", ""), kept_id) for kept_id in kept):
            case.path_parameters["id"] = str(uuid.uuid4())
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    operation = f"{case.method.upper()} {case.operation.path}"
    query = case.query if isinstance(case.query, dict) else None
    body = case.body if isinstance(case.body, dict) else None

    if query is not None:
        query.pop("cursor", None)
        if operation == "GET /products":
            low, high = _int(query.get("min_price")), _int(query.get("max_price"))
            if low is not None and high is not None and low > high:
                query["min_price"], query["max_price"] = query["max_price"], query["min_price"]
            if _truthy(query.get("include_subcategories")) and not str(query.get("category", "")).strip():
                query["include_subcategories"] = "false"
        elif operation == "GET /analytics/sales":
            _report_range(query, sales=True)
        elif operation == "GET /analytics/top-products":
            _report_range(query, sales=False)

    if body is None:
        return
    known = catalog()
    if operation == "POST /orders" and isinstance(body.get("items"), list):
        products = _random.sample(known["products"], min(len(known["products"]), len(body["items"])))
        body["items"] = [
            dict(line, product_id=product) if isinstance(line, dict) else line
            for line, product in zip(body["items"], products)
        ]
        key = case.headers.get("Idempotency-Key") if case.headers else None
        if key is not None:
            case.headers["Idempotency-Key"] = f"{str(key)[:200]}-{uuid.uuid4().hex}"
    elif operation in ("POST /products", "PUT /products/{id}"):
        if body.get("category_id") is not None:
            body["category_id"] = _random.choice(known["categories"]) if known["categories"] else None
        headers = dict(case.headers or {})
        if operation.startswith("PUT") and ("stock" in body or "If-Match" in headers):
            etag = _etag(str(case.path_parameters.get("id", ""))) if isinstance(case.path_parameters, dict) else None
            if etag is None:
                body.pop("stock", None)
                headers.pop("If-Match", None)
            else:
                headers["If-Match"] = etag
            case.headers = headers
    elif operation == "POST /products/{id}/stock-adjustments" and body.get("delta") == 0:
        body["delta"] = 1
    elif operation in ("POST /categories", "PUT /categories/{id}"):
        if body.get("parent_id") is not None:
            # A new category may hang under any; a moved one not under itself or its subtree, which the
            # hook cannot tell from here: it becomes a top-level one.
            choices = known["categories"] if operation.startswith("POST") else []
            body["parent_id"] = _random.choice(choices) if choices else None
        if body.get("slug") is None and not re.search(r"[A-Za-z0-9]", str(body.get("name", ""))):
            body["slug"] = f"c-{uuid.uuid4().hex[:12]}"
