//! Confirmations after a save. A back-office form that changes something
//! answers with a redirect that names what was done (`?notice=KEY`), and the
//! page frame shows that sentence at the top of the page it lands on. Only the
//! keys of [`Notice`] are shown: nothing from the address is echoed.

use axum::response::Redirect;

/// What was just done, as said to the person who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A user's role was changed.
    RoleSaved,
    /// A user's sections were changed.
    SectionsSaved,
    /// A user was activated.
    UserActivated,
    /// A user was deactivated.
    UserDeactivated,
    /// An edition was saved.
    EditionSaved,
    /// A section was created or changed.
    SectionSaved,
    /// A section was created.
    SectionCreated,
    /// Tags were merged.
    TagsMerged,
    /// A desk was created.
    DeskCreated,
    /// A desk's settings were saved.
    DeskSaved,
    /// A story was spiked.
    Spiked,
    /// The breaking-news banner was cleared.
    BreakingCleared,
    /// A comment thread was opened or closed.
    CommentsSwitched,
    /// A subscriber was saved.
    SubscriberSaved,
    /// A routing rule was saved, moved or deleted.
    RoutingSaved,
    /// An ingest source was saved.
    SourceSaved,
    /// A gallery was created.
    GalleryCreated,
    /// A gallery was saved.
    GallerySaved,
}

impl Notice {
    const ALL: &'static [Notice] = &[
        Notice::RoleSaved,
        Notice::SectionsSaved,
        Notice::UserActivated,
        Notice::UserDeactivated,
        Notice::EditionSaved,
        Notice::SectionSaved,
        Notice::SectionCreated,
        Notice::TagsMerged,
        Notice::DeskCreated,
        Notice::DeskSaved,
        Notice::Spiked,
        Notice::BreakingCleared,
        Notice::CommentsSwitched,
        Notice::SubscriberSaved,
        Notice::RoutingSaved,
        Notice::SourceSaved,
        Notice::GalleryCreated,
        Notice::GallerySaved,
    ];

    /// The key in the address.
    pub fn key(self) -> &'static str {
        match self {
            Notice::RoleSaved => "role",
            Notice::SectionsSaved => "sections",
            Notice::UserActivated => "activated",
            Notice::UserDeactivated => "deactivated",
            Notice::EditionSaved => "edition",
            Notice::SectionSaved => "section",
            Notice::SectionCreated => "section-created",
            Notice::TagsMerged => "tags-merged",
            Notice::DeskCreated => "desk-created",
            Notice::DeskSaved => "desk",
            Notice::Spiked => "spiked",
            Notice::BreakingCleared => "breaking-cleared",
            Notice::CommentsSwitched => "comments",
            Notice::SubscriberSaved => "subscriber",
            Notice::RoutingSaved => "routing",
            Notice::SourceSaved => "source",
            Notice::GalleryCreated => "gallery-created",
            Notice::GallerySaved => "gallery",
        }
    }

    /// The sentence shown.
    pub fn text(self) -> &'static str {
        match self {
            Notice::RoleSaved => "Role saved.",
            Notice::SectionsSaved => "Sections saved.",
            Notice::UserActivated => "User activated: they can log in again.",
            Notice::UserDeactivated => "User deactivated: their sessions ended and they cannot log in.",
            Notice::EditionSaved => "Edition saved.",
            Notice::SectionSaved => "Section saved.",
            Notice::SectionCreated => "Section created.",
            Notice::TagsMerged => "Tags merged: stories of the first tag now carry the second.",
            Notice::DeskCreated => "Desk created. Add its members and stages below.",
            Notice::DeskSaved => "Desk settings saved.",
            Notice::Spiked => "Story spiked.",
            Notice::BreakingCleared => "Breaking-news banner cleared.",
            Notice::CommentsSwitched => "Comments setting saved.",
            Notice::SubscriberSaved => "Subscriber saved.",
            Notice::RoutingSaved => "Routing rules saved.",
            Notice::SourceSaved => "Source saved.",
            Notice::GalleryCreated => "Gallery created. Add its photos below.",
            Notice::GallerySaved => "Gallery saved. Stories showing it show the change.",
        }
    }

    /// The notice a query string names, if any.
    pub fn from_query(query: Option<&str>) -> Option<Notice> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
        let key = pairs.into_iter().find(|(k, _)| k == "notice")?.1;
        Notice::ALL.iter().copied().find(|n| n.key() == key)
    }

    /// A redirect (303) to `path` that shows this notice there.
    pub fn redirect(self, path: &str) -> Redirect {
        let sep = if path.contains('?') { '&' } else { '?' };
        // A fragment stays last.
        match path.split_once('#') {
            Some((p, frag)) => {
                let sep = if p.contains('?') { '&' } else { '?' };
                Redirect::to(&format!("{p}{sep}notice={}#{frag}", self.key()))
            }
            None => Redirect::to(&format!("{path}{sep}notice={}", self.key())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_is_found_by_its_key_and_keys_are_distinct() {
        for n in Notice::ALL {
            assert_eq!(Notice::from_query(Some(&format!("a=1&notice={}", n.key()))), Some(*n));
            assert_eq!(Notice::ALL.iter().filter(|m| m.key() == n.key()).count(), 1, "{n:?}");
        }
        assert_eq!(Notice::from_query(Some("notice=<script>")), None);
        assert_eq!(Notice::from_query(None), None);
    }

    #[test]
    fn the_notice_goes_before_a_fragment() {
        let r = axum::response::IntoResponse::into_response(Notice::DeskSaved.redirect("/admin/desks/3?x=1#stages"));
        assert_eq!(r.headers()["location"], "/admin/desks/3?x=1&notice=desk#stages");
    }
}
