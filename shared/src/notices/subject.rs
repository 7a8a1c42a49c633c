//! Subjects that survive SNS's limit: what matters first (status, family, name, account), and
//! only the job name is ever shortened.

/// SNS: "less than 100 characters". Counted in UTF-8 bytes, which is never more than the
/// characters, so the bound holds whichever SNS counts.
pub const MAX_SUBJECT_BYTES: usize = 99;

/// The longest a status or account name may take in a subject (both come from outside: a
/// newer API's status, a configured name); the job name gets the rest.
const MAX_PART_BYTES: usize = 32;

/// `[Bedrock] Completed: batch nightly-summaries (prod)`.
pub fn job_subject(status: &str, family: &str, name: &str, account: Option<&str>) -> String {
    let head = format!(
        "[Bedrock] {}: {} ",
        cut(&one_line(status), MAX_PART_BYTES),
        family
    );
    compose(&head, name, account)
}

/// `[Bedrock] 3 Failed, 47 Completed: 50 async (prod)`: the counts are the head, never cut.
pub fn digest_subject(counts: &str, what: &str, account: Option<&str>) -> String {
    let head = format!("[Bedrock] {}: ", one_line(counts));
    compose(&head, what, account)
}

/// `head` + `name` (shortened to fit, marked with an ellipsis) + ` (account)`.
fn compose(head: &str, name: &str, account: Option<&str>) -> String {
    let tail = account
        .map(|a| format!(" ({})", cut(&one_line(a), MAX_PART_BYTES)))
        .unwrap_or_default();
    let head = cut(head, MAX_SUBJECT_BYTES - tail.len());
    let room = MAX_SUBJECT_BYTES.saturating_sub(head.len() + tail.len());
    let name = one_line(name);
    let name = if name.len() <= room {
        name
    } else {
        format!("{}…", cut(&name, room.saturating_sub('…'.len_utf8())))
    };
    let subject = one_line(&format!("{head}{name}{tail}"));
    match subject.is_empty() {
        true => "Bedrock job notification".to_owned(),
        false => subject,
    }
}

/// No line breaks or control characters (SNS rejects them), whitespace runs collapsed.
pub fn one_line(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_control() || c.is_whitespace() {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The longest prefix of `s` within `max` bytes that ends on a character boundary.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].trim_end().to_owned()
}
