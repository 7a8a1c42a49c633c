//! STS on the emulator's port (query protocol: a form-encoded `POST /`, XML answers as in
//! botocore's `sts` 2011-06-15 model): `AssumeRole` and `GetCallerIdentity`. The credentials it
//! hands out carry the role's account in their key id (`ASIA` + 4 characters + the 12-digit
//! account), so requests signed with them land in that account's scope. Another process's STS
//! (moto) could not tell the emulator which account its keys belong to.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, SecondsFormat, Utc};

use crate::app::lock;
use crate::scope::is_account;
use crate::scoped::Scoped;

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// An STS error: `<ErrorResponse>` with a code, as the SDKs parse query-protocol errors.
#[derive(Debug)]
pub struct StsError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl StsError {
    fn validation(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "ValidationError",
            message: message.into(),
        }
    }

    fn access_denied(caller: &str, role: &str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "AccessDenied",
            message: format!(
                "User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role}"
            ),
        }
    }
}

impl IntoResponse for StsError {
    fn into_response(self) -> Response {
        let body = format!(
            "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            self.code,
            escape(&self.message),
            request_id()
        );
        xml(self.status, body)
    }
}

/// Answers a form-encoded STS call (`Action=AssumeRole&Version=2011-06-15&...`).
pub async fn dispatch(app: Scoped, raw: Bytes) -> Response {
    let form: HashMap<String, String> = match serde_urlencoded::from_bytes(&raw) {
        Ok(form) => form,
        Err(e) => return StsError::validation(format!("Malformed form body: {e}")).into_response(),
    };
    let action = form.get("Action").map(String::as_str).unwrap_or_default();
    if let Err(e) = app.enter_sts(&app.scope, action).await {
        let throttled = e.status == StatusCode::TOO_MANY_REQUESTS;
        let code = if throttled {
            "Throttling"
        } else {
            "ServiceUnavailable"
        };
        let status = if throttled {
            StatusCode::BAD_REQUEST
        } else {
            e.status
        };
        return StsError {
            status,
            code,
            message: e.message,
        }
        .into_response();
    }
    let result = match action {
        "AssumeRole" => assume_role(&app, &form),
        "GetCallerIdentity" => Ok(caller_identity(&app)),
        other => Err(StsError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidAction",
            message: format!("The emulator does not implement STS action {other:?}"),
        }),
    };
    match result {
        Ok(body) => xml(StatusCode::OK, body),
        Err(e) => e.into_response(),
    }
}

/// The ARN the request's credentials act as: an assumed role, or a user of the key's account.
fn caller_arn(app: &Scoped) -> String {
    let key = app.caller.key_id.as_deref().unwrap_or("anonymous");
    lock(&app.roles)
        .sessions
        .get(key)
        .cloned()
        .unwrap_or_else(|| format!("arn:aws:iam::{}:user/emulator", app.scope.account))
}

fn assume_role(app: &Scoped, form: &HashMap<String, String>) -> Result<String, StsError> {
    let input = AssumeRoleInput::parse(form)?;
    let caller = caller_arn(app);
    let role = input.role_arn;
    {
        let roles = lock(&app.roles);
        let external_ok = roles
            .external_ids
            .get(role)
            .is_none_or(|id| input.external_id == Some(id.as_str()));
        if roles.refused.contains(role) || !external_ok {
            return Err(StsError::access_denied(&caller, role));
        }
    }
    let (account, role_name) = input.account_and_name;
    let key_id = format!("ASIA{}{account}", &app.new_agent_id()[..4]);
    let session = input.session;
    let assumed = format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}");
    lock(&app.roles)
        .sessions
        .insert(key_id.clone(), assumed.clone());
    let expiration =
        (Utc::now() + Duration::seconds(input.duration)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let role_id = format!("AROA{}", app.new_agent_id());
    Ok(format!(
        "<AssumeRoleResponse xmlns=\"{NAMESPACE}\"><AssumeRoleResult><Credentials><AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>{role_id}:{session}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser><PackedPolicySize>0</PackedPolicySize></AssumeRoleResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></AssumeRoleResponse>",
        app.new_uuid(),
        app.new_uuid(),
        escape(&assumed),
        request_id()
    ))
}

/// The members of an `AssumeRole` request this emulator reads, validated as the model says.
struct AssumeRoleInput<'a> {
    role_arn: &'a str,
    account_and_name: (&'a str, &'a str),
    session: &'a str,
    external_id: Option<&'a str>,
    duration: i64,
}

impl<'a> AssumeRoleInput<'a> {
    fn parse(form: &'a HashMap<String, String>) -> Result<Self, StsError> {
        let required = |name: &str| {
            form.get(name).map(String::as_str).ok_or_else(|| {
                StsError::validation(format!(
                    "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                    lower_first(name)
                ))
            })
        };
        let role_arn = required("RoleArn")?;
        let session = required("RoleSessionName")?;
        let session_ok = (2..=64).contains(&session.len())
            && session
                .chars()
                .all(|c| c.is_alphanumeric() || "_+=,.@-".contains(c));
        if !session_ok {
            return Err(StsError::validation(format!(
                "1 validation error detected: Value '{session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            )));
        }
        let account_and_name = role_parts(role_arn).ok_or_else(|| {
            StsError::validation(format!("{role_arn} is invalid: not an IAM role ARN"))
        })?;
        let duration = match form.get("DurationSeconds") {
            None => 3600,
            Some(raw) => raw
                .parse()
                .ok()
                .filter(|d| (900..=43200).contains(d))
                .ok_or_else(|| {
                    StsError::validation(format!(
                        "1 validation error detected: Value '{raw}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200"
                    ))
                })?,
        };
        Ok(AssumeRoleInput {
            role_arn,
            account_and_name,
            session,
            external_id: form.get("ExternalId").map(String::as_str),
            duration,
        })
    }
}

/// `arn:aws:iam::{account}:role/{path/}{name}` -> (account, name).
fn role_parts(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path = resource.strip_prefix("role/")?;
    let name = path.rsplit('/').next().filter(|n| !n.is_empty())?;
    is_account(account).then_some((account, name))
}

fn caller_identity(app: &Scoped) -> String {
    let arn = caller_arn(app);
    let user_id = app.caller.key_id.clone().unwrap_or_default();
    format!(
        "<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\"><GetCallerIdentityResult><Arn>{}</Arn><UserId>{}</UserId><Account>{}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
        escape(&arn),
        escape(&user_id),
        app.scope.account,
        request_id()
    )
}

fn xml(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

fn request_id() -> String {
    format!(
        "{:032x}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use crate::sts::*;

    #[test]
    fn a_role_arn_gives_account_and_name() {
        assert_eq!(
            role_parts("arn:aws:iam::222222222222:role/ops/bedrock-jobwatch-reader"),
            Some(("222222222222", "bedrock-jobwatch-reader"))
        );
        assert_eq!(role_parts("arn:aws:iam::2222:role/x"), None);
        assert_eq!(role_parts("arn:aws:iam::222222222222:user/x"), None);
    }
}
