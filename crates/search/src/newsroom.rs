//! The newsroom's search: every story in every state (drafts, scheduled,
//! spiked, killed), across editions, by its words (headline, lead, body,
//! tags, byline and slugline, through the same analyzers as readers' search,
//! so Persian and Arabic are normalized the same way) and by what the desk
//! knows of it: state, edition, section, desk, stage, assignee, author,
//! urgency and when it last changed.
//!
//! Who may see what is the caller's rule: a reporter's search is limited to
//! the stories they created ([`NewsroomQuery::created_by`]).

use std::ops::Bound;

use chrono::{DateTime, Utc};
use newsdesk_domain::dates::from_unix;
use newsdesk_domain::{NewsId, StoryStatus};
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{Facet, Field, IndexRecordOption, TantivyDocument, Value};
use tantivy::{Order, Term};

use crate::analysis::Analyzer;
use crate::{MAX_QUERY_CHARS, Result, SearchError, SearchIndex, escape, highlighted, strip_field_syntax};

/// Hits per page of the newsroom search.
pub const NEWSROOM_PER_PAGE: usize = 25;
/// Deepest page the newsroom search may ask for.
pub const NEWSROOM_MAX_PAGE: usize = 200;

/// How the newsroom orders its results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NewsroomOrder {
    /// Best match first (last changed first when there are no words).
    #[default]
    Relevance,
    /// Last changed first.
    Modified,
    /// Most urgent first (1 flash before 8), then last changed first.
    Urgency,
}

/// A newsroom search: words and filters, all optional.
#[derive(Debug, Clone, Default)]
pub struct NewsroomQuery {
    /// Words (and `"phrases"`) to find in headline, lead, body, tags, byline and slugline.
    pub text: String,
    /// Only this edition (a language code); `None`: every edition.
    pub edition: Option<String>,
    /// Only this state.
    pub status: Option<StoryStatus>,
    /// Only this section path and below (`iran` or `iran/politics`).
    pub section: Option<String>,
    /// Only stories created by this user (a reporter sees only their own).
    pub created_by: Option<i64>,
    /// Only stories on this desk.
    pub desk_id: Option<i64>,
    /// Only stories in this stage.
    pub stage_id: Option<i64>,
    /// Only stories assigned to this user.
    pub assignee_id: Option<i64>,
    /// Only spiked stories (`Some(true)`) or only those not spiked (`Some(false)`).
    pub spiked: Option<bool>,
    /// Only stories this urgent or more (1..=8: `2` finds flashes and urgents).
    pub urgency_at_most: Option<i64>,
    /// Last changed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Last changed before.
    pub to: Option<DateTime<Utc>>,
    /// The order of the results.
    pub order: NewsroomOrder,
    /// The page, from 1.
    pub page: usize,
}

/// One story found by the newsroom.
#[derive(Debug, Clone, Serialize)]
pub struct NewsroomHit {
    /// Public id.
    pub news_id: NewsId,
    /// The edition's language.
    pub lang: String,
    /// Workflow state as stored (`draft`, `published`, ...).
    pub status: String,
    /// Headline, plain.
    pub headline: String,
    /// Headline as HTML: escaped, query words in `<mark>`.
    pub headline_html: String,
    /// A passage of the body or lead as HTML: escaped, query words in `<mark>`.
    pub snippet_html: String,
    /// The slugline, if any.
    pub slugline: String,
    /// Urgency 1–8, if the story has one.
    pub urgency: Option<i64>,
    /// Whether it is spiked.
    pub spiked: bool,
    /// Section path.
    pub section_path: String,
    /// Section name.
    pub section_name: String,
    /// The desk it is on, if any.
    pub desk_id: Option<i64>,
    /// Its stage, if on a desk.
    pub stage_id: Option<i64>,
    /// When it last changed.
    pub modified_at: DateTime<Utc>,
}

/// One page of newsroom results.
#[derive(Debug, Clone, Serialize)]
pub struct NewsroomResults {
    /// Number of matching stories.
    pub total: usize,
    /// The page shown, from 1.
    pub page: usize,
    /// Hits per page.
    pub per_page: usize,
    /// This page's hits.
    pub hits: Vec<NewsroomHit>,
}

impl NewsroomResults {
    /// Number of pages (at most [`NEWSROOM_MAX_PAGE`]).
    pub fn pages(&self) -> usize {
        self.total.div_ceil(self.per_page).min(NEWSROOM_MAX_PAGE)
    }
}

fn term_i64(field: Field, value: i64) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_i64(field, value), IndexRecordOption::Basic))
}

impl SearchIndex {
    /// Searches every story in the index for the newsroom. Words go through
    /// the analyzer of the chosen edition's language, or of every language
    /// when no edition is chosen; with no words, the filters alone choose.
    /// Snippets come from `bodies`.
    pub fn newsroom_search(&self, q: &NewsroomQuery, bodies: &dyn crate::Bodies) -> Result<NewsroomResults> {
        let page = q.page.max(1);
        if page > NEWSROOM_MAX_PAGE {
            return Err(SearchError::Invalid(format!("page must be between 1 and {NEWSROOM_MAX_PAGE}")));
        }
        if q.text.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchError::Invalid(format!("q must be at most {MAX_QUERY_CHARS} characters")));
        }
        if let (Some(from), Some(to)) = (q.from, q.to)
            && from >= to
        {
            return Err(SearchError::Invalid("from must be before to".into()));
        }
        if let Some(u) = q.urgency_at_most
            && !(1..=8).contains(&u)
        {
            return Err(SearchError::Invalid("urgency must be from 1 to 8".into()));
        }
        let f = &self.fields;
        let analyzers: Vec<Analyzer> = match &q.edition {
            Some(lang) => vec![Analyzer::for_lang(lang)],
            None => Analyzer::ALL.to_vec(),
        };
        let mut text_fields = Vec::new();
        for a in &analyzers {
            let t = f.text(*a);
            text_fields.extend([t.headline, t.lead, t.body, t.tags, t.byline, t.slugline]);
        }
        let text = q.text.trim();
        let text_query: Option<Box<dyn Query>> = if text.is_empty() {
            None
        } else {
            let mut parser = QueryParser::new(self.index.schema(), text_fields, self.index.tokenizers().clone());
            parser.set_conjunction_by_default();
            for a in &analyzers {
                let t = f.text(*a);
                parser.set_field_boost(t.slugline, 4.0);
                parser.set_field_boost(t.headline, 3.0);
                parser.set_field_boost(t.tags, 2.0);
                parser.set_field_boost(t.lead, 1.5);
                parser.set_field_boost(t.byline, 1.5);
            }
            // A slugline is typed with hyphens (`IRAN-DEFENCE`): they join words, not negate them.
            let (parsed, _) = parser.parse_query_lenient(&strip_field_syntax(text).replace(['-', '_'], " "));
            let mut has_terms = false;
            parsed.query_terms(&mut |_, _| has_terms = true);
            if !has_terms {
                return Ok(NewsroomResults { total: 0, page, per_page: NEWSROOM_PER_PAGE, hits: Vec::new() });
            }
            Some(parsed)
        };

        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        match &text_query {
            Some(t) => clauses.push((Occur::Must, t.box_clone())),
            None => clauses.push((Occur::Must, Box::new(AllQuery))),
        }
        if let Some(lang) = &q.edition {
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(Term::from_field_text(f.edition, lang), IndexRecordOption::Basic)),
            ));
        }
        if let Some(status) = q.status {
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(Term::from_field_text(f.status, status.as_str()), IndexRecordOption::Basic)),
            ));
        }
        if let Some(section) = q.section.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let facet = Facet::from_path(section.split('/').filter(|s| !s.is_empty()));
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(Term::from_facet(f.section, &facet), IndexRecordOption::Basic)),
            ));
        }
        for (field, value) in [
            (f.created_by, q.created_by),
            (f.desk, q.desk_id),
            (f.stage, q.stage_id),
            (f.assignee, q.assignee_id),
            (f.spiked, q.spiked.map(i64::from)),
        ] {
            if let Some(v) = value {
                clauses.push((Occur::Must, term_i64(field, v)));
            }
        }
        if let Some(u) = q.urgency_at_most {
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_i64(f.urgency, 1)),
                    Bound::Included(Term::from_field_i64(f.urgency, u)),
                )),
            ));
        }
        if q.from.is_some() || q.to.is_some() {
            let lower =
                q.from.map_or(Bound::Unbounded, |t| Bound::Included(Term::from_field_i64(f.modified, t.timestamp())));
            let upper =
                q.to.map_or(Bound::Unbounded, |t| Bound::Excluded(Term::from_field_i64(f.modified, t.timestamp())));
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        let query = BooleanQuery::new(clauses);

        let searcher = self.reader.searcher();
        let offset = (page - 1) * NEWSROOM_PER_PAGE;
        let order = match (q.order, &text_query) {
            (NewsroomOrder::Relevance, None) => NewsroomOrder::Modified,
            (o, _) => o,
        };
        let (total, addresses) = match order {
            NewsroomOrder::Relevance => {
                let top = TopDocs::with_limit(NEWSROOM_PER_PAGE).and_offset(offset);
                let (total, top) = searcher.search(&query, &(Count, top))?;
                (total, top.into_iter().map(|(_, a)| a).collect::<Vec<_>>())
            }
            NewsroomOrder::Modified => {
                let top = TopDocs::with_limit(NEWSROOM_PER_PAGE)
                    .and_offset(offset)
                    .order_by_fast_field::<i64>("modified", Order::Desc);
                let (total, top) = searcher.search(&query, &(Count, top))?;
                (total, top.into_iter().map(|(_, a)| a).collect())
            }
            NewsroomOrder::Urgency => {
                // Most urgent first, newest first within one urgency; stories
                // with no urgency (-1) last.
                let top = TopDocs::with_limit(NEWSROOM_PER_PAGE).and_offset(offset).custom_score(
                    |segment: &tantivy::SegmentReader| {
                        let fast = segment.fast_fields();
                        let urgency = fast.i64("urgency").ok().map(|c| c.first_or_default_col(-1));
                        let modified = fast.i64("modified").ok().map(|c| c.first_or_default_col(0));
                        move |doc: tantivy::DocId| {
                            let u = urgency.as_ref().map_or(-1, |c| c.get_val(doc));
                            let m = modified.as_ref().map_or(0, |c| c.get_val(doc));
                            let rank = if (1..=8).contains(&u) { 9 - u } else { 0 };
                            (rank, m)
                        }
                    },
                );
                let (total, top) = searcher.search(&query, &(Count, top))?;
                (total, top.into_iter().map(|(_, a)| a).collect())
            }
        };

        let snippets = match &text_query {
            Some(t) => {
                let mut gens = Vec::new();
                for a in &analyzers {
                    let tf = f.text(*a);
                    let mut h = tantivy::snippet::SnippetGenerator::create(&searcher, &**t, tf.headline)?;
                    h.set_max_num_chars(1000);
                    let mut b = tantivy::snippet::SnippetGenerator::create(&searcher, &**t, tf.body)?;
                    b.set_max_num_chars(220);
                    let mut l = tantivy::snippet::SnippetGenerator::create(&searcher, &**t, tf.lead)?;
                    l.set_max_num_chars(220);
                    gens.push((*a, h, b, l));
                }
                Some(gens)
            }
            None => None,
        };
        let mut docs = Vec::with_capacity(addresses.len());
        for addr in addresses {
            docs.push(searcher.doc::<TantivyDocument>(addr)?);
        }
        // Bodies only when there are words to mark in them.
        let texts = match &snippets {
            Some(_) => {
                let ids: Vec<i64> =
                    docs.iter().filter_map(|d| d.get_first(f.news_id).and_then(|v| v.as_i64())).collect();
                bodies.bodies(&ids)?
            }
            None => std::collections::HashMap::new(),
        };
        let mut hits = Vec::with_capacity(docs.len());
        for doc in docs {
            let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let int = |field: Field| doc.get_first(field).and_then(|v| v.as_i64());
            let lang = text(f.lang);
            let analyzer = Analyzer::for_lang(&lang);
            let tf = f.text(analyzer);
            let headline = text(tf.headline);
            let lead = text(tf.lead);
            let gens = snippets.as_ref().and_then(|g| g.iter().find(|(a, ..)| *a == analyzer));
            let (headline_html, snippet_html) = match gens {
                Some((_, h, b, l)) => (
                    highlighted(h, &headline).unwrap_or_else(|| escape(&headline)),
                    highlighted(b, int(f.news_id).and_then(|id| texts.get(&id)).map_or("", String::as_str))
                        .or_else(|| highlighted(l, &lead))
                        .unwrap_or_else(|| escape(&crate::truncate_chars(&lead, 220))),
                ),
                None => (escape(&headline), escape(&crate::truncate_chars(&lead, 220))),
            };
            let known = |v: Option<i64>| v.filter(|&v| v >= 0);
            hits.push(NewsroomHit {
                news_id: int(f.news_id).unwrap_or_default(),
                lang,
                status: text(f.status),
                headline,
                headline_html,
                snippet_html,
                slugline: text(f.slugline_raw),
                urgency: known(int(f.urgency)),
                spiked: int(f.spiked) == Some(1),
                section_path: text(f.section_path),
                section_name: text(f.section_name),
                desk_id: known(int(f.desk)),
                stage_id: known(int(f.stage)),
                modified_at: from_unix(int(f.modified).unwrap_or_default()),
            });
        }
        Ok(NewsroomResults { total, page, per_page: NEWSROOM_PER_PAGE, hits })
    }
}
