//! The OpenAPI 3.1 document of the API, served at `/openapi.json`. Written by hand next to
//! the routes; a test checks that every route the router answers is documented here.

use crate::error::ApiError;
use serde_json::{Value, json};

/// Every documented (method, path), as the router declares them.
#[cfg(test)]
const ROUTES: [(&str, &str); 14] = [
    ("get", "/healthz"),
    ("post", "/v1/requests"),
    ("get", "/v1/requests"),
    ("get", "/v1/requests/{id}"),
    ("post", "/v1/requests/{id}/receipt-confirmation"),
    ("post", "/v1/requests/{id}/extension"),
    ("post", "/v1/runs"),
    ("get", "/v1/runs/{id}"),
    ("get", "/v1/metrics"),
    ("post", "/v1/agent/{agent_id}"),
    ("get", "/v1/agent/{agent_id}"),
    ("post", "/v1/data-rights-request"),
    ("get", "/v1/data-rights-request/{id}"),
    ("delete", "/v1/data-rights-request/{id}"),
];

fn error_responses(extra: &[(&str, &str)]) -> Value {
    let mut r = json!({
        "401": {"$ref": "#/components/responses/Error"},
        "403": {"$ref": "#/components/responses/Error"},
        "500": {"$ref": "#/components/responses/Error"},
    });
    for (code, _) in extra {
        r[*code] = json!({"$ref": "#/components/responses/Error"});
    }
    r
}

fn ok(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn id_param(what: &str) -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": what,
           "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$"}})
}

fn agent_param() -> Value {
    json!({"name": "agent_id", "in": "path", "required": true, "description": "The agent's DRP id",
           "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}})
}

fn signed_body(schema: &str) -> Value {
    json!({"required": true, "description": format!("base64 of signature ‖ JSON ({schema})"),
           "content": {"text/plain": {"schema": {"$ref": "#/components/schemas/DrpSigned"}}}})
}

/// DRP responses: `ok_code` with `schema`, 401 and 500, and `codes` in the DRP error shape.
fn drp_errors(codes: &[&str], ok_code: &str, description: &str, schema: &str) -> Value {
    let err = json!({"description": "A DRP error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DrpError"}}}});
    let mut r = json!({"401": err.clone(), "500": {"$ref": "#/components/responses/Error"}});
    for c in codes {
        r[*c] = err.clone();
    }
    r[ok_code] = ok(description, schema);
    r
}

/// The document.
pub fn document() -> Value {
    let body_errors = [("400", ""), ("413", ""), ("415", ""), ("422", "")];
    let mut submit_responses = error_responses(&[
        ("400", ""),
        ("409", ""),
        ("413", ""),
        ("415", ""),
        ("422", ""),
    ]);
    submit_responses["201"] = ok("Stored (status `received`)", "RequestEnvelope");
    submit_responses["200"] = ok(
        "The same request was already stored (idempotent on `id`)",
        "RequestEnvelope",
    );
    let mut list_responses = error_responses(&[("400", "")]);
    list_responses["200"] = ok("Requests, oldest first", "RequestList");
    let mut show_responses = error_responses(&[("400", ""), ("404", "")]);
    show_responses["200"] = ok(
        "The request, its clocks and its event history",
        "RequestDetail",
    );
    let mut confirm_responses = error_responses(&[("400", ""), ("404", "")]);
    confirm_responses["200"] = ok(
        "Receipt confirmation recorded (idempotent)",
        "RequestEnvelope",
    );
    let mut extend_responses = error_responses(&[
        ("400", ""),
        ("404", ""),
        ("409", ""),
        ("413", ""),
        ("415", ""),
        ("422", ""),
    ]);
    extend_responses["200"] = ok(
        "Extended once, by the regime's extension",
        "RequestEnvelope",
    );
    let mut run_responses = error_responses(&body_errors);
    run_responses["202"] = ok("Run started; poll `GET /v1/runs/{id}`", "RunStarted");
    let mut show_run_responses = error_responses(&[("400", ""), ("404", "")]);
    show_run_responses["200"] = ok("The run's progress or outcome", "RunEnvelope");
    let mut metrics_responses = error_responses(&[("400", "")]);
    metrics_responses["200"] = ok("Per request kind, for the calendar year", "Metrics");
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "dsr portal API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Data-subject requests: submit, follow, run, measure. Every /v1 route needs `Authorization: Bearer <token>` (`dsr token create --scope portal|admin`). `portal` tokens submit and read; `admin` tokens may also start runs and extend deadlines. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}` with a stable code."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {"summary": "Liveness and control DB reachability", "security": [],
                "responses": {"200": {"description": "OK"}, "500": {"$ref": "#/components/responses/Error"}}}},
            "/v1/requests": {
                "post": {"summary": "Submit a request (idempotent on its id)", "x-scope": "portal",
                    "requestBody": body("Request"), "responses": submit_responses},
                "get": {"summary": "List requests", "x-scope": "portal",
                    "parameters": [
                        {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/Status"}},
                        {"name": "overdue", "in": "query", "description": "Only open requests past their deadline or receipt confirmation", "schema": {"type": "boolean"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}}
                    ],
                    "responses": list_responses}
            },
            "/v1/requests/{id}": {"get": {"summary": "One request: status, due dates, denial reason, report link once fulfilled, events",
                "x-scope": "portal", "parameters": [id_param("Request id")], "responses": show_responses}},
            "/v1/requests/{id}/receipt-confirmation": {"post": {"summary": "Record that the requester was sent the receipt confirmation",
                "x-scope": "portal", "parameters": [id_param("Request id")], "responses": confirm_responses}},
            "/v1/requests/{id}/extension": {"post": {"summary": "Extend the deadline once, with the reason sent to the requester",
                "x-scope": "admin", "parameters": [id_param("Request id")], "requestBody": body("Extension"), "responses": extend_responses}},
            "/v1/runs": {"post": {"summary": "Start an on-demand run for the given requests, or every admitted one",
                "x-scope": "admin", "requestBody": body("RunRequest"), "responses": run_responses}},
            "/v1/runs/{id}": {"get": {"summary": "Progress and outcome of an on-demand run",
                "x-scope": "portal", "parameters": [id_param("Run id")], "responses": show_run_responses}},
            "/v1/agent/{agent_id}": {
                "post": {"summary": "DRP pairwise setup: a message signed by the agent gives it its bearer token (a new setup revokes the previous token)",
                    "x-scope": "drp-signed", "security": [], "parameters": [agent_param()],
                    "requestBody": signed_body("DrpEnvelope"),
                    "responses": {"200": ok("The agent's bearer token, shown once", "DrpToken"),
                                  "401": {"description": "Not used: any failure is a bare 403"},
                                  "403": {"description": "Unknown agent, bad signature, wrong claims, expired or replayed (no body)"}}},
                "get": {"summary": "DRP agent information: 200 `{}` while the token is this agent's", "x-scope": "drp-agent",
                    "security": [{"drpAgent": []}], "parameters": [agent_param()], "responses": drp_errors(&["403"], "200", "Token valid", "DrpEmpty")}
            },
            "/v1/data-rights-request": {"post": {"summary": "DRP: exercise a right (signed request of an authorized agent)", "x-scope": "drp-agent",
                "security": [{"drpAgent": []}], "requestBody": signed_body("DrpExercise"),
                "responses": drp_errors(&["400", "403", "409", "413", "422"], "200", "Received (or denied at intake); the DRP status", "DrpStatus")}},
            "/v1/data-rights-request/{id}": {
                "get": {"summary": "DRP: status of one of this agent's requests", "x-scope": "drp-agent",
                    "security": [{"drpAgent": []}], "parameters": [id_param("DRP request id")],
                    "responses": drp_errors(&["403"], "200", "The DRP status", "DrpStatus")},
                "delete": {"summary": "DRP: revoke one of this agent's requests before processing (signed body)", "x-scope": "drp-agent",
                    "security": [{"drpAgent": []}], "parameters": [id_param("DRP request id")], "requestBody": signed_body("DrpRevoke"),
                    "responses": drp_errors(&["400", "403", "409"], "200", "Revoked (status `revoked`)", "DrpStatus")}
            },
            "/v1/metrics": {"get": {"summary": "11 CCR §7102 metrics for a calendar year", "x-scope": "portal",
                "parameters": [{"name": "year", "in": "query", "schema": {"type": "integer", "minimum": 2020, "maximum": 2100}}],
                "responses": metrics_responses}}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                "drpAgent": {"type": "http", "scheme": "bearer", "description": "An authorized agent's token from DRP pairwise setup"}},
            "responses": {"Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string", "enum": ApiError::CODES},
                    "message": {"type": "string"},
                    "field": {"type": "string", "description": "The JSON field or parameter at fault"}}}}},
                "Status": {"type": "string", "enum": dsr_engine::control::Status::ALL.map(dsr_engine::control::Status::key)},
                "Request": {"type": "object", "additionalProperties": false, "required": ["id", "kind", "jurisdiction", "received_at", "subject"],
                    "description": "A data-subject request as the portal received it (see README, Request format).",
                    "properties": {
                        "id": {"type": "string", "description": "Caller-chosen id: 1-64 of A-Z a-z 0-9 . _ -; resubmitting the same body is a no-op"},
                        "kind": {"type": "string", "enum": ["access", "access_categories", "deletion", "opt_out"]},
                        "jurisdiction": {"type": "string", "description": "CA, EU, DE, UK …"},
                        "received_at": {"type": "string", "format": "date-time"},
                        "subject": {"type": "object", "required": ["identities"], "properties": {"identities": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["type", "value"], "properties": {"type": {"type": "string"}, "value": {"type": "string"}}}}}},
                        "verification": {"type": "object"},
                        "client": {"type": "string", "description": "The Client that forwarded the request to us as its service provider"},
                        "extended_lookback": {"type": "boolean"}
                    }},
                "RequestView": {"type": "object", "properties": {
                    "id": {"type": "string"}, "kind": {"type": "string"}, "jurisdiction": {"type": "string"},
                    "status": {"$ref": "#/components/schemas/Status"},
                    "denial_reason": {"type": ["string", "null"], "enum": ["suspected_fraud", "insuf_verification", "no_match", "claim_not_covered", "outside_jurisdiction", "too_many_requests", null]},
                    "received_at": {"type": "string", "format": "date-time"},
                    "confirm_by": {"type": ["string", "null"], "format": "date-time"},
                    "receipt_confirmed_at": {"type": ["string", "null"], "format": "date-time"},
                    "respond_by": {"type": ["string", "null"], "format": "date-time"},
                    "due_at": {"type": ["string", "null"], "format": "date-time"},
                    "extendable_to": {"type": ["string", "null"], "format": "date-time"},
                    "extended_at": {"type": ["string", "null"], "format": "date-time"},
                    "client": {"type": ["string", "null"]},
                    "closed_at": {"type": ["string", "null"], "format": "date-time"},
                    "report": {"type": ["string", "null"], "description": "Report link once fulfilled"},
                    "days_left": {"type": ["integer", "null"]}}},
                "RequestEnvelope": {"type": "object", "properties": {"request": {"$ref": "#/components/schemas/RequestView"}}},
                "RequestDetail": {"type": "object", "properties": {"request": {"$ref": "#/components/schemas/RequestView"},
                    "events": {"type": "array", "items": {"type": "object", "properties": {"at": {"type": "string"}, "event": {"type": "string"}}}}}},
                "RequestList": {"type": "object", "properties": {"now": {"type": "string"}, "requests": {"type": "array", "items": {"$ref": "#/components/schemas/RequestView"}}}},
                "Extension": {"type": "object", "additionalProperties": false, "required": ["reason"], "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}}},
                "RunRequest": {"type": "object", "additionalProperties": false, "properties": {"requests": {"type": "array", "items": {"type": "string"}, "minItems": 1}}},
                "RunStarted": {"type": "object", "properties": {"run": {"type": "object", "properties": {"id": {"type": "string"}, "status": {"type": "string"}}}}},
                "RunEnvelope": {"type": "object", "properties": {"run": {"type": "object", "properties": {
                    "id": {"type": "string"}, "status": {"type": "string", "enum": ["queued", "running", "finished", "failed"]},
                    "requests": {"type": ["array", "null"], "items": {"type": "string"}},
                    "total": {"type": "integer"}, "done": {"type": "integer"}, "engine_run": {"type": ["string", "null"]},
                    "summary": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
                    "error": {"type": ["string", "null"]}, "created_at": {"type": "string"}, "finished_at": {"type": ["string", "null"]}}}}},
                "DrpError": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string", "description": "The HTTP status, as a string"}, "message": {"type": "string"},
                    "fatal": {"type": "boolean", "description": "Sending the same message again cannot succeed"},
                    "request_id": {"type": "string", "description": "With a reused agent-request-id: the request it was given"}}},
                "DrpSigned": {"type": "string", "contentEncoding": "base64", "description": "base64 of the 64-byte Ed25519 signature followed by the JSON message it signs (libsodium combined mode)"},
                "DrpEnvelope": {"type": "object", "required": ["agent-id", "business-id", "issued-at", "expires-at"], "properties": {
                    "agent-id": {"type": "string"}, "business-id": {"type": "string"},
                    "issued-at": {"type": "string", "format": "date-time"}, "expires-at": {"type": "string", "format": "date-time"}}},
                "DrpExercise": {"allOf": [{"$ref": "#/components/schemas/DrpEnvelope"}, {"type": "object", "required": ["drp.version", "exercise"], "properties": {
                    "drp.version": {"type": "string"}, "exercise": {"type": "string", "enum": ["sale:opt-out", "sale:opt_out", "sale:opt-in", "sale:opt_in", "deletion", "access", "access:categories", "access:specific"]},
                    "regime": {"type": "string", "enum": ["ccpa"]}, "relationships": {"type": "array", "items": {"type": "string"}},
                    "status_callback": {"type": "string", "format": "uri"}, "agent-request-id": {"type": "string"},
                    "name": {"type": "string"}, "email": {"type": "string"}, "email_verified": {"type": "boolean"},
                    "phone_number": {"type": "string"}, "phone_number_verified": {"type": "boolean"},
                    "address": {"type": "object"}, "address_verified": {"type": "boolean"}}}]},
                "DrpRevoke": {"type": "object", "properties": {"reason": {"type": "string"}}},
                "DrpToken": {"type": "object", "properties": {"agent-id": {"type": "string"}, "token": {"type": "string"}}},
                "DrpEmpty": {"type": "object"},
                "DrpStatus": {"type": "object", "required": ["request_id", "status", "received_at"], "properties": {
                    "request_id": {"type": "string"},
                    "status": {"type": "string", "enum": ["open", "in_progress", "fulfilled", "revoked", "denied", "expired"]},
                    "reason": {"type": "string", "enum": ["suspected_fraud", "insuf_verification", "no_match", "claim_not_covered", "outside_jurisdiction", "too_many_requests", "other"]},
                    "received_at": {"type": "string", "format": "date-time"}, "expected_by": {"type": "string", "format": "date-time"},
                    "processing_details": {"type": "string"}}},
                "Metrics": {"type": "object", "properties": {"year": {"type": "integer"}, "citation": {"type": "string"},
                    "kinds": {"type": "array", "items": {"type": "object", "properties": {
                        "kind": {"type": "string"}, "received": {"type": "integer"}, "complied_in_whole_or_part": {"type": "integer"},
                        "denied": {"type": "integer"}, "median_days_to_respond": {"type": ["number", "null"]}, "mean_days_to_respond": {"type": ["number", "null"]}}}}}}
            }
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_scope() {
        let doc = document();
        for (method, path) in ROUTES {
            let op = &doc["paths"][path][method];
            assert!(op.is_object(), "{method} {path} undocumented");
            assert!(op["responses"].is_object(), "{method} {path}");
            if path.starts_with("/v1/") {
                assert!(op["x-scope"].is_string(), "{method} {path} scope");
                assert!(op["responses"]["401"].is_object(), "{method} {path} 401");
            }
        }
        let documented: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum();
        assert_eq!(documented, ROUTES.len(), "no undocumented extra");
    }
}
