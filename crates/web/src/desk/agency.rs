//! Agency metadata in the story commands: the rules for `urgency`,
//! `slugline`, `located`, `genres`, `subjects` and `ednote` (ninjs 2.2
//! names), the same for the back office and the write API.

use newsdesk_domain::agency::{self, Agency, MAX_CODES, MAX_LOCATED, MAX_SLUGLINE};
use newsdesk_domain::limits::MAX_NOTE;
use newsdesk_domain::{mediatopic, text};

use super::FieldError;

/// Changes to a story's agency metadata; `None` keeps the story's value (a
/// new story: urgency 4, nothing else).
#[derive(Debug, Clone, Default)]
pub struct AgencyChanges {
    /// 1 (flash) … 8 (lowest).
    pub urgency: Option<i64>,
    /// The desk's short name ("IRAN-DEFENCE-EXPORTS").
    pub slugline: Option<String>,
    /// The dateline's place ("Tehran").
    pub located: Option<String>,
    /// IPTC genres by qcode (`genre:Analysis`), code or name (replace the story's).
    pub genres: Option<Vec<String>>,
    /// IPTC Media Topic qcodes (`medtop:03000000`; replace the story's).
    pub subjects: Option<Vec<String>>,
    /// The note to subscribers (ninjs `ednote`).
    pub ednote: Option<String>,
    /// Show the subjects as tags on the public page.
    pub subjects_public: Option<bool>,
}

/// A one-line text field: whitespace folded, at most `max` characters, no control characters.
fn line(errors: &mut Vec<FieldError>, field: &'static str, label: &str, value: &str, max: usize) -> String {
    let v = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.chars().count() > max {
        errors.push(FieldError::new(field, format!("The {label} is longer than {max} characters.")));
    }
    if let Some(problem) = text::check(label, &v) {
        errors.push(FieldError::new(field, problem));
    }
    v
}

/// The agency metadata `c` leaves on a story that has `current` (`None`: a
/// new story); every problem goes to `errors`, named by its field.
pub fn validate(errors: &mut Vec<FieldError>, current: Option<&Agency>, c: AgencyChanges) -> Agency {
    let mut a = current.cloned().unwrap_or_default();
    if let Some(u) = c.urgency {
        if agency::urgency_is_valid(u) {
            a.urgency = u;
        } else {
            errors.push(FieldError::new("urgency", format!("The urgency is 1 (flash) to 8 (lowest), not {u}.")));
        }
    }
    if let Some(s) = c.slugline {
        a.slugline = line(errors, "slugline", "slugline", &s, MAX_SLUGLINE);
    }
    if let Some(l) = c.located {
        a.located = line(errors, "located", "dateline place", &l, MAX_LOCATED);
    }
    if let Some(e) = c.ednote {
        let e = text::normalize_newlines(e.trim()).into_owned();
        if e.chars().count() > MAX_NOTE {
            errors.push(FieldError::new(
                "ednote",
                format!("The note to subscribers is longer than {MAX_NOTE} characters."),
            ));
        }
        if let Some(problem) = text::check("note to subscribers", &e) {
            errors.push(FieldError::new("ednote", problem));
        }
        a.ednote = e;
    }
    if let Some(p) = c.subjects_public {
        a.subjects_public = p;
    }
    if let Some(names) = c.genres {
        let mut codes: Vec<String> = Vec::new();
        for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            match agency::genre(n) {
                Some(g) if !codes.contains(&g.qcode) => codes.push(g.qcode.clone()),
                Some(_) => {}
                None => errors.push(FieldError::new(
                    "genres",
                    format!(
                        "“{n}” is not an IPTC genre; use one of {}.",
                        agency::genres().iter().map(|g| g.qcode.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )),
            }
        }
        if codes.len() > MAX_CODES {
            errors.push(FieldError::new("genres", format!("At most {MAX_CODES} genres.")));
        }
        a.genres = codes;
    }
    if let Some(qcodes) = c.subjects {
        let kept = current.map(|c| c.subjects.as_slice()).unwrap_or_default();
        let mut codes: Vec<String> = Vec::new();
        for q in qcodes.iter().map(|q| q.trim()).filter(|q| !q.is_empty()) {
            // A retired topic the story already has may stay; it is never newly chosen.
            let topic = match mediatopic::choose(q) {
                Ok(t) => Some(t),
                Err(_) if kept.contains(&mediatopic::normalize(q)) => mediatopic::get(q),
                Err(problem) => {
                    errors.push(FieldError::new("subjects", problem));
                    None
                }
            };
            if let Some(t) = topic
                && !codes.contains(&t.qcode)
            {
                codes.push(t.qcode.clone());
            }
        }
        if codes.len() > MAX_CODES {
            errors.push(FieldError::new("subjects", format!("At most {MAX_CODES} subjects.")));
        }
        a.subjects = codes;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_new_story_gets_the_defaults_and_changes_are_cleaned() {
        let mut errors = Vec::new();
        assert_eq!(validate(&mut errors, None, AgencyChanges::default()), Agency::default());
        let a = validate(
            &mut errors,
            None,
            AgencyChanges {
                urgency: Some(2),
                slugline: Some("  IRAN-DEFENCE   EXPORTS ".into()),
                located: Some("Tehran".into()),
                genres: Some(vec!["analysis".into(), "genre:Analysis".into(), "Interview".into()]),
                subjects: Some(vec!["medtop:03000000".into(), "11000000".into(), "medtop:03000000".into()]),
                ednote: Some(" Embargoed until 10:00.\r\n ".into()),
                subjects_public: Some(true),
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(a.urgency, 2);
        assert_eq!(a.slugline, "IRAN-DEFENCE EXPORTS");
        assert_eq!(a.genres, ["genre:Analysis", "genre:Interview"]);
        assert_eq!(a.subjects, ["medtop:03000000", "medtop:11000000"]);
        assert_eq!(a.ednote, "Embargoed until 10:00.");
        assert!(a.subjects_public);
        // Absent fields keep the story's values.
        let b = validate(&mut errors, Some(&a), AgencyChanges { urgency: Some(1), ..Default::default() });
        assert_eq!(b, Agency { urgency: 1, ..a });
    }

    #[test]
    fn bad_values_are_refused_by_field() {
        let retired = mediatopic::all().iter().find(|t| t.retired).expect("retired");
        let mut errors = Vec::new();
        validate(
            &mut errors,
            None,
            AgencyChanges {
                urgency: Some(9),
                slugline: Some("x".repeat(81)),
                located: Some("Teh\u{7}ran".into()),
                genres: Some(vec!["gossip".into()]),
                subjects: Some(vec!["medtop:99999999".into(), retired.qcode.clone()]),
                ednote: Some("n".repeat(2001)),
                subjects_public: None,
            },
        );
        assert_eq!(fields(&errors), ["urgency", "slugline", "located", "ednote", "genres", "subjects", "subjects"]);
        let mut errors = Vec::new();
        validate(&mut errors, None, AgencyChanges { urgency: Some(0), ..Default::default() });
        assert_eq!(fields(&errors), ["urgency"]);
        // A retired topic the story already carries may stay.
        let mut errors = Vec::new();
        let old = Agency { subjects: vec![retired.qcode.clone()], ..Agency::default() };
        let kept = validate(
            &mut errors,
            Some(&old),
            AgencyChanges { subjects: Some(old.subjects.clone()), ..Default::default() },
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(kept.subjects, old.subjects);
    }
}
