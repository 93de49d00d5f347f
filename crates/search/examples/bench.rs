//! Search benchmark: indexes N synthetic stories (English, Persian and Arabic,
//! 60/25/15) into a fresh index and reports stories indexed per second, then
//! runs Q queries (one to three words from the corpus vocabulary, some with a
//! section or date filter) and reports p50/p99/max latency.
//!
//! Then it indexes C more stories one commit each, as a node following the
//! newsroom's change log does (syncing to disk every 5 s, as the follower's
//! checkpoints do), and reports the time per commit: a publish on another node
//! is not searchable here before such a commit.
//!
//! `cargo run --release -p newsdesk-search --example bench -- [STORIES] [QUERIES] [COMMITS]`
//! (defaults 100000, 2000 and 300); `bench/search` wraps it.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use newsdesk_domain::StoryStatus;
use newsdesk_search::{Filters, SearchIndex};
use newsdesk_storage::IndexableStory;

const EN: &[&str] = &[
    "minister",
    "parliament",
    "oil",
    "budget",
    "election",
    "president",
    "court",
    "football",
    "league",
    "bank",
    "inflation",
    "rate",
    "export",
    "gas",
    "bridge",
    "earthquake",
    "drought",
    "water",
    "school",
    "university",
    "hospital",
    "health",
    "vaccine",
    "border",
    "trade",
    "sanctions",
    "talks",
    "nuclear",
    "energy",
    "power",
    "road",
    "railway",
    "airport",
    "flight",
    "price",
    "market",
    "currency",
    "dollar",
    "wheat",
    "farmers",
    "rain",
    "flood",
    "fire",
    "police",
    "city",
    "province",
    "capital",
    "council",
    "mayor",
    "museum",
    "film",
    "festival",
    "book",
    "writer",
    "team",
    "coach",
    "match",
    "goal",
    "cup",
    "report",
    "study",
    "plan",
    "project",
    "factory",
    "steel",
    "copper",
    "mine",
    "port",
    "ship",
    "tanker",
    "weather",
    "storm",
    "snow",
    "tourism",
    "hotel",
    "visitors",
];
const FA: &[&str] = &[
    "وزیر",
    "مجلس",
    "نفت",
    "بودجه",
    "انتخابات",
    "رئیس‌جمهور",
    "دادگاه",
    "فوتبال",
    "لیگ",
    "بانک",
    "تورم",
    "نرخ",
    "صادرات",
    "گاز",
    "پل",
    "زلزله",
    "خشکسالی",
    "آب",
    "مدرسه",
    "دانشگاه",
    "بیمارستان",
    "سلامت",
    "واکسن",
    "مرز",
    "تجارت",
    "تحریم",
    "مذاکره",
    "انرژی",
    "برق",
    "جاده",
    "راه‌آهن",
    "فرودگاه",
    "پرواز",
    "قیمت",
    "بازار",
    "ارز",
    "گندم",
    "کشاورزان",
    "باران",
    "سیل",
    "آتش",
    "پلیس",
    "شهر",
    "استان",
    "پایتخت",
    "شورا",
    "شهردار",
    "موزه",
    "فیلم",
    "جشنواره",
    "کتاب",
    "نویسنده",
    "تیم",
    "مربی",
    "بازی",
    "گل",
    "جام",
    "گزارش",
    "طرح",
    "کارخانه",
    "فولاد",
    "مس",
    "معدن",
    "بندر",
    "کشتی",
    "می‌رود",
    "می‌گوید",
    "۱۴۰۳",
    "۱۴۰۴",
];
const AR: &[&str] = &[
    "الوزير",
    "البرلمان",
    "النفط",
    "الميزانية",
    "الانتخابات",
    "الرئيس",
    "المحكمة",
    "كرة",
    "الدوري",
    "البنك",
    "التضخم",
    "أسعار",
    "الصادرات",
    "الغاز",
    "الجسر",
    "زلزال",
    "الجفاف",
    "المياه",
    "المدرسة",
    "الجامعة",
    "المستشفى",
    "الصحة",
    "اللقاح",
    "الحدود",
    "التجارة",
    "العقوبات",
    "المفاوضات",
    "الطاقة",
    "الكهرباء",
    "الطريق",
    "المطار",
    "الرحلة",
    "السوق",
    "العملة",
    "القمح",
    "المزارعين",
    "الأمطار",
    "الفيضان",
    "الشرطة",
    "المدينة",
    "المحافظة",
    "العاصمة",
    "المجلس",
    "المتحف",
    "الفيلم",
    "المهرجان",
    "الكتاب",
    "الفريق",
    "المدرب",
    "المباراة",
    "هدف",
    "الكأس",
    "تقرير",
    "مشروع",
    "المصنع",
    "الميناء",
    "السفينة",
    "٢٠٢٤",
    "٢٠٢٥",
    "مُحَمَّد",
];
const SECTIONS: &[&str] = &["politics", "economy", "economy/energy", "sports", "society", "culture", "provinces"];

/// A small deterministic generator (xorshift), so every run indexes the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `min` to `min + spread - 1` words of `vocab`.
    fn words(&mut self, vocab: &[&str], min: usize, spread: usize) -> String {
        let n = min + self.below(spread);
        (0..n).map(|_| vocab[self.below(vocab.len())]).collect::<Vec<_>>().join(" ")
    }
}

fn vocab_of(lang: &str) -> &'static [&'static str] {
    match lang {
        "fa" => FA,
        "ar" => AR,
        _ => EN,
    }
}

fn synthetic(rng: &mut Rng, news_id: i64, now: DateTime<Utc>) -> IndexableStory {
    let lang = match rng.below(20) {
        0..=11 => "en",
        12..=16 => "fa",
        _ => "ar",
    };
    let vocab = vocab_of(lang);
    let paragraphs = 3 + rng.below(5);
    let body: String = (0..paragraphs).map(|_| format!("<p>{}.</p>", rng.words(vocab, 25, 40))).collect();
    let age_secs = rng.below(5 * 365 * 86_400) as i64;
    IndexableStory {
        news_id,
        edition_lang: lang.into(),
        section_path: SECTIONS[rng.below(SECTIONS.len())].into(),
        section_name: "Section".into(),
        slug: format!("story-{news_id}"),
        headline: rng.words(vocab, 6, 6),
        lead: rng.words(vocab, 20, 15),
        body_html: body,
        status: StoryStatus::Published,
        published_at: Some(now - chrono::Duration::seconds(age_secs)),
        updated_at: None,
        tags: vec![rng.words(vocab, 1, 1), rng.words(vocab, 1, 1)],
        authors: vec!["Staff writer".into()],
        newsroom: Default::default(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let stories: i64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let queries: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let commits: i64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(300);
    let dir = tempfile::tempdir()?;
    let index = SearchIndex::open_or_create(&dir.path().join("search"))?;
    let now = Utc::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // Generating text is not indexing: build the corpus first.
    let corpus: Vec<IndexableStory> = (1..=stories).map(|id| synthetic(&mut rng, id, now)).collect();
    let bytes: usize = corpus.iter().map(|s| s.headline.len() + s.lead.len() + s.body_html.len()).sum();
    let start = Instant::now();
    for s in &corpus {
        index.index_story(s)?;
    }
    index.commit_applied(Some(0))?;
    let took = start.elapsed();
    println!(
        "indexed {stories} stories ({:.0} MB of text) in {:.1} s: {:.0} stories/s",
        bytes as f64 / 1e6,
        took.as_secs_f64(),
        stories as f64 / took.as_secs_f64()
    );
    drop(corpus);

    let mut latencies = Vec::with_capacity(queries);
    let mut total_hits = 0usize;
    for i in 0..queries {
        let lang = ["en", "en", "fa", "ar"][i % 4];
        let vocab = vocab_of(lang);
        let q = rng.words(vocab, 1, 3);
        let filters = match i % 5 {
            0 => Filters { section: Some(SECTIONS[rng.below(SECTIONS.len())].into()), ..Filters::default() },
            1 => Filters { from: Some(now - chrono::Duration::days(365)), ..Filters::default() },
            _ => Filters::default(),
        };
        let page = 1 + (i % 3);
        let t = Instant::now();
        // The server reads the hits' bodies from the database for snippets; bench/scale measures that over HTTP.
        let r = index.search(lang, &q, &filters, page, &newsdesk_search::NoBodies)?;
        latencies.push(t.elapsed());
        total_hits += r.total;
    }
    latencies.sort();
    println!(
        "{queries} queries: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (mean matches per query {:.0})",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        total_hits as f64 / queries.max(1) as f64
    );

    let mut took = Vec::with_capacity(commits as usize);
    let mut checkpoints = Vec::new();
    let mut synced = Instant::now();
    for id in stories + 1..=stories + commits {
        let story = synthetic(&mut rng, id, now);
        let t = Instant::now();
        index.index_story(&story)?;
        index.commit_applied(Some(id))?;
        took.push(t.elapsed());
        if synced.elapsed() >= Duration::from_secs(5) {
            let t = Instant::now();
            index.checkpoint()?;
            checkpoints.push(t.elapsed());
            synced = Instant::now();
        }
    }
    let mean = took.iter().sum::<Duration>().as_secs_f64() * 1e3 / took.len().max(1) as f64;
    took.sort();
    println!(
        "{commits} one-story commits: mean {mean:.2} ms, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} checkpoints, mean {:.1} ms",
        percentile(&took, 0.50).as_secs_f64() * 1e3,
        percentile(&took, 0.99).as_secs_f64() * 1e3,
        took.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        checkpoints.len(),
        checkpoints.iter().sum::<Duration>().as_secs_f64() * 1e3 / checkpoints.len().max(1) as f64
    );
    Ok(())
}
