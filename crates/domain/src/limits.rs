//! Limits of a story's fields, in characters: the same for the back office's
//! editor and the JSON API, so both accept exactly the same stories.

/// Headline.
pub const MAX_HEADLINE: usize = 300;
/// Lead.
pub const MAX_LEAD: usize = 2_000;
/// Body as written.
pub const MAX_BODY: usize = 500_000;
/// Tags (and bylines) per story.
pub const MAX_TAGS: usize = 30;
/// One tag or byline name.
pub const MAX_NAME: usize = 80;
/// Editorial, correction and public notes.
pub const MAX_NOTE: usize = 2_000;
