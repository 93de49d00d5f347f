//! Readers' comments: what a comment may contain, how it is checked before it
//! is stored, how duplicates are recognised, and how its text is shown.
//!
//! The text is stored exactly as typed; it only becomes HTML when shown
//! ([`render`]): escaped, line breaks kept, and links clickable only when the
//! site allows it (then always `rel="nofollow ugc"`). Nothing here does I/O.

use std::fmt;

/// Where a comment is in moderation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommentStatus {
    /// Waiting for an editor (pre-moderation).
    Pending,
    /// Shown on the story page.
    Approved,
    /// Refused by an editor; never shown.
    Rejected,
    /// Marked as spam by an editor; never shown.
    Spam,
}

impl CommentStatus {
    /// Every status, in queue order.
    pub const ALL: [CommentStatus; 4] =
        [CommentStatus::Pending, CommentStatus::Approved, CommentStatus::Rejected, CommentStatus::Spam];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            CommentStatus::Pending => "pending",
            CommentStatus::Approved => "approved",
            CommentStatus::Rejected => "rejected",
            CommentStatus::Spam => "spam",
        }
    }

    /// Reads the stored form.
    pub fn parse(s: &str) -> Option<CommentStatus> {
        CommentStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for CommentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an edition treats new comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModerationMode {
    /// Nothing appears until an editor approves it (the default).
    #[default]
    Pre,
    /// Comments appear at once; editors remove what breaks the rules.
    Post,
}

impl ModerationMode {
    /// The stored and configured form.
    pub fn as_str(self) -> &'static str {
        match self {
            ModerationMode::Pre => "pre",
            ModerationMode::Post => "post",
        }
    }

    /// Reads the stored and configured form.
    pub fn parse(s: &str) -> Option<ModerationMode> {
        match s {
            "pre" => Some(ModerationMode::Pre),
            "post" => Some(ModerationMode::Post),
            _ => None,
        }
    }

    /// The status a new comment gets.
    pub fn initial_status(self) -> CommentStatus {
        match self {
            ModerationMode::Pre => CommentStatus::Pending,
            ModerationMode::Post => CommentStatus::Approved,
        }
    }
}

/// The site's rules for comment content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRules {
    /// Most characters in a comment's text.
    pub max_length: usize,
    /// Most characters in a name.
    pub max_name_length: usize,
    /// Most links (`http://`, `https://`, `www.`) in a comment.
    pub max_links: usize,
    /// Fewest seconds between showing the form and sending it (bots are faster).
    pub min_fill_secs: i64,
    /// Words and phrases that refuse a comment (matched as whole words, any case).
    pub blocklist: Vec<String>,
    /// Whether links in approved comments are clickable (always `rel="nofollow ugc"`).
    pub links_clickable: bool,
}

impl Default for CommentRules {
    fn default() -> Self {
        CommentRules {
            max_length: 5000,
            max_name_length: 80,
            max_links: 2,
            min_fill_secs: 3,
            blocklist: Vec::new(),
            links_clickable: false,
        }
    }
}

/// What a reader sent, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommentDraft {
    /// Name shown with the comment.
    pub name: String,
    /// Email (optional, never shown).
    pub email: String,
    /// The comment.
    pub text: String,
    /// The honeypot field, hidden from people; bots fill it in.
    pub honeypot: String,
    /// Seconds the form was on screen before it was sent.
    pub fill_secs: i64,
}

/// A comment that passed the content rules, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedComment {
    /// Name, trimmed.
    pub name: String,
    /// Email, trimmed (empty when not given).
    pub email: String,
    /// Text exactly as typed.
    pub text: String,
    /// Key for duplicate detection, see [`duplicate_key`].
    pub duplicate_key: String,
}

/// Why a comment was refused. Each has a message for the reader and names
/// the form field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No name given.
    #[error("Please give a name to show with your comment.")]
    NameMissing,
    /// The name is too long.
    #[error("The name may have at most {0} characters.")]
    NameTooLong(usize),
    /// The email does not look like one.
    #[error("The email address does not look right (it is optional: you may leave it empty).")]
    BadEmail,
    /// No text.
    #[error("Please write your comment before sending it.")]
    TextMissing,
    /// The text is too long.
    #[error("Your comment has {got} characters; at most {max} are allowed. Please shorten it.")]
    TooLong {
        /// Characters typed.
        got: usize,
        /// Characters allowed.
        max: usize,
    },
    /// Too many links.
    #[error("Your comment has {got} links; at most {max} are allowed.")]
    TooManyLinks {
        /// Links found.
        got: usize,
        /// Links allowed.
        max: usize,
    },
    /// A blocked word or phrase.
    #[error("Your comment contains “{0}”, which is not allowed here. Please rephrase it.")]
    Blocked(String),
    /// The hidden field was filled in.
    #[error("Your comment looks automated: the field marked “leave empty” was filled in.")]
    Honeypot,
    /// Sent faster than a person can type.
    #[error("That was very fast. Please check your comment and send it again.")]
    TooFast,
    /// Invisible control characters (other than line breaks and tabs in the text).
    #[error("The {0} contains invisible control characters. Please remove them and send it again.")]
    ControlCharacters(&'static str),
}

impl Refusal {
    /// The form field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            Refusal::NameMissing | Refusal::NameTooLong(_) => "name",
            Refusal::BadEmail => "email",
            Refusal::ControlCharacters(field) => field,
            Refusal::Honeypot => "website",
            Refusal::TextMissing
            | Refusal::TooLong { .. }
            | Refusal::TooManyLinks { .. }
            | Refusal::Blocked(_)
            | Refusal::TooFast => "text",
        }
    }
}

/// Checks a draft against the rules; the first broken rule refuses it.
pub fn check(rules: &CommentRules, draft: &CommentDraft) -> Result<CheckedComment, Refusal> {
    if !draft.honeypot.trim().is_empty() {
        return Err(Refusal::Honeypot);
    }
    if draft.name.chars().any(char::is_control) {
        return Err(Refusal::ControlCharacters("name"));
    }
    if draft.text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(Refusal::ControlCharacters("text"));
    }
    let name = draft.name.trim();
    if name.is_empty() {
        return Err(Refusal::NameMissing);
    }
    if name.chars().count() > rules.max_name_length {
        return Err(Refusal::NameTooLong(rules.max_name_length));
    }
    let email = draft.email.trim();
    if !email.is_empty() && !looks_like_email(email) {
        return Err(Refusal::BadEmail);
    }
    if draft.text.trim().is_empty() {
        return Err(Refusal::TextMissing);
    }
    let len = draft.text.chars().count();
    if len > rules.max_length {
        return Err(Refusal::TooLong { got: len, max: rules.max_length });
    }
    let links = count_links(&draft.text);
    if links > rules.max_links {
        return Err(Refusal::TooManyLinks { got: links, max: rules.max_links });
    }
    if let Some(word) = blocked_word(&rules.blocklist, &format!("{name} {}", draft.text)) {
        return Err(Refusal::Blocked(word));
    }
    if draft.fill_secs < rules.min_fill_secs {
        return Err(Refusal::TooFast);
    }
    Ok(CheckedComment {
        name: name.to_string(),
        email: email.to_string(),
        text: draft.text.clone(),
        duplicate_key: duplicate_key(&draft.text),
    })
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    s.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ','))
}

/// The text reduced to lower-case words separated by single spaces (letters
/// and digits of any script; punctuation, spacing and case do not matter).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            // Lower case may add a mark (İ is "i" and a combining dot): only
            // letters and digits are kept, so a normalized text normalizes to itself.
            out.extend(c.to_lowercase().filter(|l| l.is_alphanumeric()));
        } else {
            gap = true;
        }
    }
    out
}

/// The key under which two comments count as the same text: [`normalize`]d,
/// so "Great article!!" and "great   ARTICLE" are duplicates.
pub fn duplicate_key(text: &str) -> String {
    normalize(text)
}

/// The first blocklist entry found in `text` as whole words (any case).
pub fn blocked_word(blocklist: &[String], text: &str) -> Option<String> {
    let hay = format!(" {} ", normalize(text));
    blocklist.iter().find_map(|entry| {
        let needle = normalize(entry);
        (!needle.is_empty() && hay.contains(&format!(" {needle} "))).then(|| entry.trim().to_string())
    })
}

fn link_start(token: &str) -> Option<usize> {
    let lower = token.to_ascii_lowercase();
    ["https://", "http://", "www."].iter().filter_map(|p| lower.find(p)).min()
}

/// How many links the text has (`http://…`, `https://…` and `www.…` words).
pub fn count_links(text: &str) -> usize {
    text.split_whitespace().filter(|t| link_start(t).is_some()).count()
}

/// The comment's text as HTML: escaped, paragraphs at blank lines, line
/// breaks kept; `http(s)://` links clickable with `rel="nofollow ugc"` only
/// when `links_clickable`.
pub fn render(text: &str, links_clickable: bool) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len() + 16);
    for para in text.split("\n\n").map(|p| p.trim_matches('\n')).filter(|p| !p.trim().is_empty()) {
        out.push_str("<p>");
        for (i, line) in para.split('\n').enumerate() {
            if i > 0 {
                out.push_str("<br>\n");
            }
            out.push_str(&render_line(line, links_clickable));
        }
        out.push_str("</p>\n");
    }
    out
}

fn render_line(line: &str, links_clickable: bool) -> String {
    if !links_clickable {
        return crate::html::escape(line);
    }
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = find_http(rest) {
        out.push_str(&crate::html::escape(&rest[..start]));
        let after = &rest[start..];
        let end = after.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"')).unwrap_or(after.len());
        let mut url = &after[..end];
        // Sentence punctuation after a link is not part of it.
        while let Some(last) = url.chars().last()
            && matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | ')' | '\'')
        {
            url = &url[..url.len() - last.len_utf8()];
        }
        let scheme_only = url.eq_ignore_ascii_case("http://") || url.eq_ignore_ascii_case("https://");
        if scheme_only {
            out.push_str(&crate::html::escape(url));
        } else {
            let u = crate::html::escape(url);
            out.push_str(&format!("<a href=\"{u}\" rel=\"nofollow ugc\">{u}</a>"));
        }
        rest = &after[url.len()..];
    }
    out.push_str(&crate::html::escape(rest));
    out
}

fn find_http(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    ["https://", "http://"].iter().filter_map(|p| lower.find(p)).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn draft(text: &str) -> CommentDraft {
        CommentDraft { name: "Sara".into(), text: text.into(), fill_secs: 60, ..CommentDraft::default() }
    }

    #[test]
    fn a_plain_comment_passes_and_keeps_its_text() {
        let c = check(&CommentRules::default(), &draft("  Good piece.\n\nThanks!  ")).expect("valid");
        assert_eq!(c.text, "  Good piece.\n\nThanks!  ");
        assert_eq!(c.name, "Sara");
        assert_eq!(c.duplicate_key, "good piece thanks");
    }

    #[test]
    fn each_rule_refuses_with_its_field() {
        let rules = CommentRules { blocklist: vec!["Buy Now".into(), "casino".into()], ..CommentRules::default() };
        let cases: Vec<(CommentDraft, Refusal)> = vec![
            (CommentDraft { name: " ".into(), ..draft("x") }, Refusal::NameMissing),
            (CommentDraft { name: "n".repeat(81), ..draft("x") }, Refusal::NameTooLong(80)),
            (CommentDraft { email: "not-an-email".into(), ..draft("x") }, Refusal::BadEmail),
            (draft(" \n "), Refusal::TextMissing),
            (draft(&"é".repeat(5001)), Refusal::TooLong { got: 5001, max: 5000 }),
            (draft("see http://a.example https://b.example www.c.example"), Refusal::TooManyLinks { got: 3, max: 2 }),
            (draft("Please buy   NOW!"), Refusal::Blocked("Buy Now".into())),
            (CommentDraft { honeypot: "http://spam".into(), ..draft("x") }, Refusal::Honeypot),
            (CommentDraft { fill_secs: 1, ..draft("x") }, Refusal::TooFast),
            (draft("nul \u{0} byte"), Refusal::ControlCharacters("text")),
            (CommentDraft { name: "Sa\nra".into(), ..draft("x") }, Refusal::ControlCharacters("name")),
        ];
        for (d, want) in cases {
            let got = check(&rules, &d).expect_err("must be refused");
            assert_eq!(got, want);
            assert!(!got.to_string().is_empty());
        }
        assert_eq!(Refusal::BadEmail.field(), "email");
        assert!(check(&rules, &draft("I like casinos and buying now")).is_ok(), "whole words only");
        assert!(check(&rules, &CommentDraft { email: "a@b.example".into(), ..draft("x") }).is_ok());
        assert!(check(&rules, &draft("tab\there\r\nand lines")).is_ok(), "line breaks and tabs are text");
        assert!(check(&rules, &draft(&"é".repeat(5000))).is_ok(), "length counts characters, not bytes");
    }

    #[test]
    fn duplicates_ignore_case_space_and_punctuation() {
        assert_eq!(duplicate_key("Great article!!"), duplicate_key("great   ARTICLE"));
        assert_ne!(duplicate_key("Great article"), duplicate_key("Great articles"));
        assert_eq!(duplicate_key("سلام، دنیا!"), "سلام دنیا");
        // A capital whose lower case carries a combining mark (found by the property below).
        assert_eq!(normalize("İstanbul'da"), "istanbul da");
        assert_eq!(normalize(&normalize("İ")), normalize("İ"));
        assert_eq!(blocked_word(&["istanbul".to_string()], "İSTANBUL!"), Some("istanbul".to_string()));
    }

    #[test]
    fn rendering_escapes_and_keeps_line_breaks() {
        assert_eq!(
            render("<script>alert(1)</script>\nline 2\n\npara & more", false),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;<br>\nline 2</p>\n<p>para &amp; more</p>\n"
        );
        assert_eq!(render("see https://x.example/a?b=1&c=2.", false), "<p>see https://x.example/a?b=1&amp;c=2.</p>\n");
    }

    #[test]
    fn links_are_clickable_only_when_allowed_and_always_nofollow_ugc() {
        assert_eq!(
            render("see https://x.example/a?b=1&c=2. ok", true),
            "<p>see <a href=\"https://x.example/a?b=1&amp;c=2\" rel=\"nofollow ugc\">https://x.example/a?b=1&amp;c=2</a>. ok</p>\n"
        );
        assert_eq!(render("javascript:alert(1) http://", true), "<p>javascript:alert(1) http://</p>\n");
        assert!(!render("www.x.example", true).contains("<a"), "only http(s) links become anchors");
    }

    proptest! {
        #[test]
        fn rendered_text_never_contains_markup_from_the_reader(text in "\\PC{0,200}", links in any::<bool>()) {
            let html = render(&text, links);
            let stripped = html.replace("<p>", "").replace("</p>", "").replace("<br>", "").replace("</a>", "");
            let stripped = regex_free_strip_anchors(&stripped);
            prop_assert!(!stripped.contains('<'), "{html}");
        }

        #[test]
        fn normalize_is_idempotent(text in "\\PC{0,100}") {
            let once = normalize(&text);
            prop_assert_eq!(normalize(&once), once.clone());
        }
    }

    /// Removes `<a href="…" rel="nofollow ugc">` openings (the only markup links add).
    fn regex_free_strip_anchors(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("<a href=\"") {
            out.push_str(&rest[..i]);
            let after = &rest[i..];
            let end =
                after.find("rel=\"nofollow ugc\">").map(|e| e + "rel=\"nofollow ugc\">".len()).unwrap_or(after.len());
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }
}
