//! The error answers every operation can give for the same reasons — no
//! token, too many requests, a body that is not JSON, the database away —
//! added to the OpenAPI document in one place, so a new route gets them by
//! default and its own `responses(...)` lists only what is particular to it
//! (a specific 403, 404 or 409). Routes under a team answer 404 for an
//! unknown team. A status an operation already documents keeps its own
//! description.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, Response, ResponseBuilder};

/// A shared answer: its status, its name under `components/responses`
/// and what it means.
struct Common {
    status: &'static str,
    name: &'static str,
    description: &'static str,
}

const BAD_REQUEST: Common = Common {
    status: "400",
    name: "BadRequest",
    description: "Malformed: the body is not JSON, or a path or query value does not parse",
};
const UNAUTHORIZED: Common = Common {
    status: "401",
    name: "Unauthorized",
    description: "No valid token: send Authorization: Bearer <token>",
};
const NO_SUCH_TEAM: Common = Common {
    status: "404",
    name: "NoSuchTeam",
    description: "No such team, or the caller is not a member of it",
};
const PAYLOAD_TOO_LARGE: Common = Common {
    status: "413",
    name: "PayloadTooLarge",
    description: "The body is larger than Rota accepts",
};
const UNSUPPORTED_MEDIA_TYPE: Common = Common {
    status: "415",
    name: "UnsupportedMediaType",
    description: "The body is not sent with the content type this operation reads",
};
const UNPROCESSABLE: Common = Common {
    status: "422",
    name: "Unprocessable",
    description: "Well-formed, but a field is missing or not valid; the message says which",
};
const TOO_MANY_REQUESTS: Common = Common {
    status: "429",
    name: "TooManyRequests",
    description: "Too many requests with this token; try again after `Retry-After` seconds",
};
const UNAVAILABLE: Common = Common {
    status: "503",
    name: "Unavailable",
    description: "The database is busy or not answering; try again after `Retry-After` seconds",
};

const ALL: [Common; 8] = [
    BAD_REQUEST,
    UNAUTHORIZED,
    NO_SUCH_TEAM,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    UNPROCESSABLE,
    TOO_MANY_REQUESTS,
    UNAVAILABLE,
];

/// Adds the common answers to every operation that can give them.
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for c in &ALL {
            components.responses.insert(c.name.into(), RefOr::T(response(c)));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_common(path, op);
            }
        }
    }
}

/// Which common answers `op` at `path` can give, from what it takes.
fn add_common(path: &str, op: &mut Operation) {
    let mut wanted = vec![&UNAVAILABLE];
    // The team extractors answer 404 for an unknown team and a non-member.
    if path.contains("{team}") {
        wanted.push(&NO_SUCH_TEAM);
    }
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        wanted.extend([&UNAUTHORIZED, &TOO_MANY_REQUESTS]);
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    if params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query))
    {
        wanted.push(&BAD_REQUEST);
    }
    if op.request_body.is_some() {
        wanted.extend([
            &BAD_REQUEST,
            &PAYLOAD_TOO_LARGE,
            &UNSUPPORTED_MEDIA_TYPE,
            &UNPROCESSABLE,
        ]);
    }
    for c in wanted {
        op.responses
            .responses
            .entry(c.status.into())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(c.name)));
    }
}

fn response(c: &Common) -> Response {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    let mut builder = ResponseBuilder::new()
        .description(c.description)
        .content("application/json", body);
    if c.status == TOO_MANY_REQUESTS.status || c.status == UNAVAILABLE.status {
        builder = builder.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Object::with_type(Type::Integer))
                .description(Some("Seconds to wait before the next request"))
                .build(),
        );
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    /// Every operation lists the answers it can give for common reasons,
    /// each a reference to one shared description.
    #[test]
    fn every_operation_documents_the_common_answers() {
        let doc = serde_json::to_value(crate::api::ApiDoc::openapi()).expect("serialises");
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("operations") {
                let responses = &op["responses"];
                let has = |status: &str| responses.get(status).is_some();
                assert!(has("503"), "{method} {path} lacks 503");
                if op.get("security").is_some() {
                    assert!(has("401") && has("429"), "{method} {path} lacks 401 or 429");
                }
                if path.contains("{team}") {
                    assert!(has("404"), "{method} {path} lacks 404");
                }
                if op.get("requestBody").is_some() {
                    for status in ["400", "413", "415", "422"] {
                        assert!(has(status), "{method} {path} lacks {status}");
                    }
                }
                checked += 1;
            }
        }
        assert!(checked > 40, "only {checked} operations");
        let too_many = &doc["components"]["responses"]["TooManyRequests"];
        assert!(too_many["headers"]["Retry-After"].is_object(), "{too_many}");
    }
}
