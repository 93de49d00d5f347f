//! The demo's Persian and Arabic editions: `/fa/` (right to left, Tehran time,
//! Solar Hijri calendar, Persian digits) and `/ar/` (right to left, Tehran
//! time, Gregorian calendar with Arabic month names and Arabic-Indic digits, or
//! Hijri when asked), each with a section tree and synthetic stories in its
//! language, plus a Persian translation of the seed story linked to it.
//!
//! Synthetic stories are marked as in English: a byline, a tag and a lead that
//! ends with a note, all in the edition's language, so nobody takes them for news.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use newsdesk_domain::calendar::{Calendar, Digits};
use newsdesk_domain::{BodyFormat, Direction, NewsId, StoryStatus};
use newsdesk_storage::{AuditEntry, NewEdition, SectionRef, Store, StoryInput};

/// Byline of the Persian synthetic stories.
pub const FA_AUTHOR: &str = "میز خبر نمایشی";
/// Tag of the Persian synthetic stories.
pub const FA_TAG: &str = "مصنوعی";
/// Text that ends the lead of every Persian synthetic story.
pub const FA_MARK: &str = " (متن نمایشی مصنوعی.)";
/// Byline of the Arabic synthetic stories.
pub const AR_AUTHOR: &str = "مكتب الأخبار التجريبي";
/// Tag of the Arabic synthetic stories.
pub const AR_TAG: &str = "مصطنع";
/// Text that ends the lead of every Arabic synthetic story.
pub const AR_MARK: &str = " (نص تجريبي مصطنع.)";

const ACTOR: &str = "demo";
/// Credit of the drawn photos, in the edition's language.
const FA_PHOTO_CREDIT: &str = "عکس نمایشی (کشیده‌شده با newsdesk)";
const AR_PHOTO_CREDIT: &str = "صورة تجريبية (رسمها newsdesk)";

/// How many synthetic stories each of the two editions gets.
pub const STORIES_PER_EDITION: usize = 36;

/// The Persian edition's settings.
pub fn persian_edition() -> NewEdition {
    NewEdition {
        lang: "fa".into(),
        name: "خبرگزاری نیوزدسک".into(),
        direction: Direction::Rtl,
        time_zone: chrono_tz::Asia::Tehran,
        is_default: false,
    }
}

/// The Arabic edition's settings.
pub fn arabic_edition() -> NewEdition {
    NewEdition {
        lang: "ar".into(),
        name: "وكالة نيوزدسك للأنباء".into(),
        direction: Direction::Rtl,
        time_zone: chrono_tz::Asia::Tehran,
        is_default: false,
    }
}

/// One story pattern: section path, headline, lead and body with `{place}` and `{n}` to fill.
struct Pattern {
    section: &'static [&'static str],
    headline: &'static str,
    lead: &'static str,
    body: &'static [&'static str],
    tag: &'static str,
    /// Drawing style of its photo: the index of the English demo's top-level section it resembles.
    style: usize,
}

/// What [`fill`] made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditionsReport {
    /// The Persian edition.
    pub fa_edition: i64,
    /// The Arabic edition.
    pub ar_edition: i64,
    /// The Persian translation of the seed story.
    pub seed_translation: NewsId,
    /// Stories written in both editions, the translation included.
    pub created: usize,
}

/// Creates the Persian and Arabic demo editions with their sections and
/// [`STORIES_PER_EDITION`] synthetic stories each, published over the 30 days
/// before `now`, and links a Persian translation to the English seed story
/// `seed`. `arabic_calendar` is the Arabic edition's calendar (Gregorian or Hijri).
pub async fn fill(
    store: &Store,
    seed: NewsId,
    now: DateTime<Utc>,
    arabic_calendar: Calendar,
) -> anyhow::Result<EditionsReport> {
    let fa = store.upsert_edition(&persian_edition()).await.context("creating the Persian demo edition")?;
    store
        .set_edition_locale(fa.id, Calendar::SolarHijri, Digits::Persian)
        .await
        .context("setting the Persian edition's calendar")?;
    let ar = store.upsert_edition(&arabic_edition()).await.context("creating the Arabic demo edition")?;
    store
        .set_edition_locale(ar.id, arabic_calendar, Digits::ArabicIndic)
        .await
        .context("setting the Arabic edition's calendar")?;

    let mut created = 0;
    created += write(store, fa.id, FA_PATTERNS, FA_PLACES, [FA_AUTHOR, FA_TAG, FA_MARK, FA_PHOTO_CREDIT], now).await?;
    created += write(store, ar.id, AR_PATTERNS, AR_PLACES, [AR_AUTHOR, AR_TAG, AR_MARK, AR_PHOTO_CREDIT], now).await?;
    let photo = super::photos::store_drawn_photo(store, 0, 1_001, SEED_FA_HEADLINE, FA_PHOTO_CREDIT).await?;

    let seed_story = store.story(seed).await?.with_context(|| format!("the seed story {seed} is missing"))?;
    let (translation, _) = store
        .save_story(&StoryInput {
            news_id: None,
            edition_id: fa.id,
            section: SectionRef::Names(vec!["ایران".into(), "دفاعی".into()]),
            slug: None,
            headline: SEED_FA_HEADLINE.into(),
            lead: SEED_FA_LEAD.into(),
            body_source: SEED_FA_BODY.join("\n\n"),
            body_format: BodyFormat::Text,
            photo_id: Some(photo),
            status: StoryStatus::Published,
            published_at: seed_story.published_at,
            tags: vec!["دفاعی".into(), "صنایع نظامی".into(), "ترجمه نمایشی".into()],
            authors: Vec::new(),
            actor: ACTOR.into(),
        })
        .await
        .context("saving the Persian translation of the seed story")?;
    let audit = AuditEntry::system(ACTOR, "story.translation", "story", translation, &format!("translation of {seed}"));
    store.set_translation_of(translation, Some(seed), &audit).await.context("linking the seed's translation")?;
    created += 1;
    Ok(EditionsReport { fa_edition: fa.id, ar_edition: ar.id, seed_translation: translation, created })
}

/// Writes the synthetic stories of one edition; `marks` are its byline, tag, lead mark and photo credit.
async fn write(
    store: &Store,
    edition_id: i64,
    patterns: &[Pattern],
    places: &[&str],
    marks: [&str; 4],
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let [author, tag, mark, credit] = marks;
    // One drawing per pattern, shared by its stories; no caption, so each story's
    // headline is its alt text (a caption naming one city would be wrong on the others).
    let mut photos = Vec::with_capacity(patterns.len());
    let digits = if places == FA_PLACES { Digits::Persian } else { Digits::ArabicIndic };
    // Oldest first, so News IDs grow with time; the newest a few minutes before `now`.
    let step = Duration::days(30).num_seconds() / STORIES_PER_EDITION as i64;
    let variant_base = if places == FA_PLACES { 2_000 } else { 3_000 };
    for (k, p) in patterns.iter().enumerate() {
        photos.push(super::photos::store_drawn_photo(store, p.style, variant_base + k as u64, "", credit).await?);
    }
    for i in 0..STORIES_PER_EDITION {
        let p = &patterns[i % patterns.len()];
        let place = places[(i * 7 + i / patterns.len()) % places.len()];
        let n = digits.apply(&(3 + (i * 13) % 47).to_string());
        let fill = |s: &str| s.replace("{place}", place).replace("{n}", &n);
        let published = now - Duration::minutes(6) - Duration::seconds(step * (STORIES_PER_EDITION - 1 - i) as i64);
        let input = StoryInput {
            news_id: None,
            edition_id,
            section: SectionRef::Names(p.section.iter().map(|s| s.to_string()).collect()),
            slug: None,
            headline: fill(p.headline),
            lead: format!("{}{mark}", fill(p.lead)),
            body_source: p.body.iter().map(|b| fill(b)).collect::<Vec<_>>().join("\n\n"),
            body_format: BodyFormat::Text,
            // Two stories in three get the pattern's drawing, the newest (the top story) among them.
            photo_id: ((STORIES_PER_EDITION - 1 - i) % 3 != 2).then(|| photos[i % patterns.len()]),
            status: StoryStatus::Published,
            published_at: Some(published),
            tags: vec![p.tag.to_string(), tag.to_string()],
            authors: vec![author.to_string()],
            actor: ACTOR.into(),
        };
        store
            .save_story(&input)
            .await
            .with_context(|| format!("saving synthetic story {} of edition {edition_id}", i + 1))?;
    }
    Ok(STORIES_PER_EDITION)
}

// ----- the seed story in Persian (a demo translation) -----

/// Headline of the seed story's Persian translation.
pub const SEED_FA_HEADLINE: &str = "وزارت دفاع: ایران به فناوری‌های نوین نظامی دست می‌یابد و صادرات رونق گرفته است";
const SEED_FA_LEAD: &str = "وزارت دفاع ایران به سوی ساخت تجهیزات نظامی پیشگام حرکت می‌کند، زیرا جنگ‌های آینده را بر پایه چنین فناوری‌هایی پیش‌بینی کرده است؛ این را یک مقام ارشد دفاعی ایران اعلام کرد.";
const SEED_FA_BODY: &[&str] = &[
    "سردار سرتیپ مهدی فرحی، معاون وزیر دفاع، این سخنان را در نخستین همایش بین‌المللی بزرگداشت دوازدهمین سالگرد شهادت حسن طهرانی‌مقدم بیان کرد؛ فرماندهی که به تلاش‌های بی‌وقفه‌اش برای توسعه برنامه موشکی ایران شناخته می‌شود.",
    "او گفت کارشناسان ایرانی در وزارت دفاع تنها به دنبال ساخت قطعات نظامی نیستند و اکنون گام‌هایی به سوی تولید تجهیزات نظامی پیشرفته برمی‌دارند.",
    "وی ابراز امیدواری کرد که این دستاوردهای برجسته نظامی توان بازدارندگی ایران را بیش از پیش افزایش دهد.",
    "فرحی گفت به گفته رهبر انقلاب اسلامی، آیت‌الله سید علی خامنه‌ای، ایران زمانی ناچار بود سیم خاردار را از خارج وارد کند، چون به دلیل گستردگی تحریم‌ها توان تولید آن را نداشت و اتحاد جماهیر شوروی نیز از عبور محموله از خاک خود جلوگیری کرده بود.",
    "این مقام تأکید کرد: «با این حال، ایران سال گذشته حدود یک میلیارد دلار تجهیزات نظامی صادر کرد.»",
    "مقام‌های نظامی ایران صنعت دفاعی کشور را به خاطر پیشرفت چشمگیرش در دهه‌های گذشته می‌ستایند و تأکید می‌کنند که تهران چنان تجهیزات دفاعی پیشرفته‌ای ساخته است که قدرت‌های نظامی جهان برای دستیابی به آن‌ها با یکدیگر رقابت می‌کنند.",
    "دکترین نظامی جمهوری اسلامی بر این است که توان نظامی کشور تنها اهداف دفاعی را دنبال می‌کند.",
    "کارشناسان و متخصصان نظامی ایران در سال‌های اخیر در ساخت طیف گسترده‌ای از تجهیزات بومی پیشرفت چشمگیری داشته‌اند و نیروهای مسلح را در حوزه تسلیحات خودکفا کرده‌اند.",
    "مقام‌های ایرانی بارها تأکید کرده‌اند که کشور در تقویت توان نظامی خود، از جمله توان موشکی و پهپادی که یکسره برای دفاع است، درنگ نخواهد کرد و توان دفاعی ایران هرگز موضوع مذاکره نخواهد بود.",
];

// ----- Persian synthetic stories -----

const FA_PLACES: &[&str] =
    &["تهران", "اصفهان", "تبریز", "شیراز", "مشهد", "کرمان", "رشت", "یزد", "اهواز", "همدان", "کرمانشاه", "بندرعباس"];

const FA_PATTERNS: &[Pattern] = &[
    Pattern {
        section: &["ایران", "استان‌ها"],
        headline: "افتتاح {n} طرح عمرانی در استان {place}",
        lead: "استاندار {place} از بهره‌برداری {n} طرح عمرانی در حوزه آب، راه و آموزش در هفته جاری خبر داد.",
        body: &[
            "به گفته استاندار، این طرح‌ها شامل بازسازی مدرسه‌ها، تکمیل شبکه آب‌رسانی روستایی و بهسازی جاده‌های فرعی است.",
            "او افزود که بخش بزرگی از اعتبار این طرح‌ها از محل بودجه استانی و مشارکت بخش خصوصی تأمین شده است.",
            "مسئولان محلی می‌گویند تا پایان سال چند طرح دیگر نیز به بهره‌برداری خواهد رسید.",
        ],
        style: 0,
        tag: "عمران",
    },
    Pattern {
        section: &["اقتصاد"],
        headline: "رشد {n} درصدی صادرات غیرنفتی از گمرک {place}",
        lead: "گزارش گمرک {place} نشان می‌دهد صادرات غیرنفتی این استان در هفت ماه نخست سال {n} درصد افزایش یافته است.",
        body: &[
            "محصولات کشاورزی، فرش دستباف و مصالح ساختمانی بیشترین سهم را در این صادرات داشته‌اند.",
            "مدیرکل گمرک {place} گفت کاهش زمان ترخیص کالا به رونق صادرات کمک کرده است.",
        ],
        style: 3,
        tag: "صادرات",
    },
    Pattern {
        section: &["ورزش"],
        headline: "پیروزی تیم فوتبال {place} در دیداری پرگل",
        lead: "تیم فوتبال {place} در هفته {n} لیگ با سه گل از سد حریف خود گذشت و به جمع سه تیم بالای جدول نزدیک‌تر شد.",
        body: &[
            "سرمربی تیم پس از بازی گفت بازیکنانش با تمرکز بالا بازی کردند و از موقعیت‌ها به خوبی استفاده کردند.",
            "هواداران {place} پس از سوت پایان در ورزشگاه به جشن و پایکوبی پرداختند.",
        ],
        style: 4,
        tag: "فوتبال",
    },
    Pattern {
        section: &["فرهنگ"],
        headline: "برگزاری نمایشگاه کتاب {place} با حضور {n} ناشر",
        lead: "نمایشگاه کتاب {place} با حضور {n} ناشر از سراسر کشور از امروز به مدت یک هفته برپا است.",
        body: &[
            "برگزارکنندگان می‌گویند بخش ویژه‌ای برای کتاب کودک و نوجوان در نظر گرفته شده است.",
            "نشست‌های نقد و بررسی کتاب و دیدار با نویسندگان از برنامه‌های جانبی این نمایشگاه است.",
        ],
        style: 5,
        tag: "کتاب",
    },
    Pattern {
        section: &["جهان"],
        headline: "نشست وزیران خارجه منطقه برای گسترش همکاری‌های اقتصادی",
        lead: "وزیران خارجه کشورهای منطقه در نشستی {n} ساعته درباره گسترش تجارت و حمل‌ونقل گفت‌وگو کردند.",
        body: &[
            "در این نشست بر ضرورت تکمیل کریدورهای ترانزیتی و کاهش موانع گمرکی تأکید شد.",
            "قرار است نشست بعدی وزیران در {place} برگزار شود.",
        ],
        style: 1,
        tag: "دیپلماسی",
    },
    Pattern {
        section: &["ایران", "دفاعی"],
        headline: "رزمایش امداد و نجات در {place} برگزار شد",
        lead: "رزمایش مشترک امداد و نجات با حضور {n} تیم عملیاتی در {place} برگزار شد تا آمادگی نیروها در برابر زلزله سنجیده شود.",
        body: &[
            "در این رزمایش، تخلیه ساختمان‌ها، برپایی بیمارستان صحرایی و انتقال مصدومان تمرین شد.",
            "فرمانده رزمایش گفت هماهنگی میان دستگاه‌ها بهتر از سال گذشته بوده است.",
        ],
        style: 0,
        tag: "رزمایش",
    },
    Pattern {
        section: &["اقتصاد"],
        headline: "آغاز برداشت محصول در مزارع {place}",
        lead: "کشاورزان {place} برداشت محصول پاییزه را آغاز کرده‌اند و پیش‌بینی می‌شود تولید امسال {n} درصد بیشتر از پارسال باشد.",
        body: &[
            "کارشناسان جهاد کشاورزی بارش‌های مناسب بهار و استفاده از آبیاری نوین را دلیل افزایش تولید می‌دانند.",
            "بخشی از محصول امسال به بازارهای کشورهای همسایه صادر خواهد شد.",
        ],
        style: 3,
        tag: "کشاورزی",
    },
    Pattern {
        section: &["فرهنگ"],
        headline: "جشنواره فیلم کوتاه {place} برگزیدگان خود را شناخت",
        lead: "هیئت داوران جشنواره فیلم کوتاه {place} از میان {n} فیلم راه‌یافته به بخش مسابقه، برگزیدگان را معرفی کرد.",
        body: &[
            "جایزه بهترین فیلم به اثری مستند درباره زندگی صیادان جنوب کشور رسید.",
            "دبیر جشنواره گفت شمار آثار رسیده امسال رکورد سال‌های گذشته را شکسته است.",
        ],
        style: 5,
        tag: "سینما",
    },
    Pattern {
        section: &["ورزش"],
        headline: "کسب {n} مدال برای ورزشکاران {place} در مسابقات کشوری",
        lead: "ورزشکاران {place} در مسابقات قهرمانی کشور در رشته‌های کشتی و وزنه‌برداری {n} مدال رنگارنگ به دست آوردند.",
        body: &[
            "مدیرکل ورزش استان این نتیجه را حاصل تمرین‌های منظم و حمایت باشگاه‌ها دانست.",
            "چند تن از مدال‌آوران به اردوی تیم ملی دعوت شده‌اند.",
        ],
        style: 4,
        tag: "کشتی",
    },
    Pattern {
        section: &["جهان"],
        headline: "هشدار سازمان ملل درباره کمبود آب در منطقه",
        lead: "گزارش تازه سازمان ملل هشدار می‌دهد که {n} میلیون نفر در منطقه در سال‌های آینده با کم‌آبی جدی روبه‌رو خواهند شد.",
        body: &[
            "در این گزارش بر مدیریت مصرف، بازچرخانی آب و همکاری کشورهای همسایه تأکید شده است.",
            "کارشناسان در {place} می‌گویند تغییرات اقلیمی روند کاهش بارش را شدت داده است.",
        ],
        style: 1,
        tag: "محیط زیست",
    },
    Pattern {
        section: &["اقتصاد"],
        headline: "راه‌اندازی خط تازه قطار مسافری به {place}",
        lead: "نخستین قطار مسافری مسیر تازه تهران به {place} با {n} واگن امروز حرکت کرد.",
        body: &[
            "مسئولان راه‌آهن می‌گویند این مسیر زمان سفر را چند ساعت کوتاه‌تر می‌کند.",
            "بلیت‌های این قطار از سامانه فروش اینترنتی عرضه شده است.",
        ],
        style: 3,
        tag: "حمل‌ونقل",
    },
    Pattern {
        section: &["ایران", "استان‌ها"],
        headline: "بازگشایی بازار تاریخی {place} پس از مرمت",
        lead: "بخش مرمت‌شده بازار تاریخی {place} پس از {n} ماه کار بازسازی به روی کسبه و گردشگران گشوده شد.",
        body: &[
            "در این مرمت، سقف‌های آجری، سردرها و تیمچه‌های قدیمی بازار بازسازی شده است.",
            "میراث فرهنگی استان امیدوار است بازگشایی بازار شمار گردشگران را افزایش دهد.",
        ],
        style: 0,
        tag: "میراث فرهنگی",
    },
];

// ----- Arabic synthetic stories -----

const AR_PLACES: &[&str] =
    &["طهران", "بغداد", "دمشق", "بيروت", "الدوحة", "مسقط", "عمّان", "الكويت", "تونس", "الجزائر", "القاهرة", "الرباط"];

const AR_PATTERNS: &[Pattern] = &[
    Pattern {
        section: &["العالم"],
        headline: "اجتماع وزاري في {place} لبحث التعاون الإقليمي",
        lead: "عقد وزراء خارجية دول المنطقة اجتماعاً في {place} استمر {n} ساعات لبحث توسيع التجارة والنقل.",
        body: &[
            "وأكد المجتمعون ضرورة استكمال ممرات العبور وتقليص العوائق الجمركية بين الدول.",
            "ومن المقرر أن يُعقد الاجتماع المقبل خلال الأشهر القليلة القادمة.",
        ],
        style: 1,
        tag: "دبلوماسية",
    },
    Pattern {
        section: &["اقتصاد"],
        headline: "ارتفاع الصادرات غير النفطية بنسبة {n} في المئة",
        lead: "أظهرت بيانات رسمية صدرت في {place} أن الصادرات غير النفطية ارتفعت بنسبة {n} في المئة خلال الأشهر السبعة الأولى من العام.",
        body: &[
            "واستحوذت المنتجات الزراعية ومواد البناء على الحصة الأكبر من هذه الصادرات.",
            "وعزا مسؤولون هذا الارتفاع إلى تسهيل إجراءات التخليص الجمركي.",
        ],
        style: 3,
        tag: "صادرات",
    },
    Pattern {
        section: &["رياضة"],
        headline: "فوز ثمين لفريق {place} في الجولة {n} من الدوري",
        lead: "حقق فريق {place} فوزاً ثميناً بثلاثة أهداف في الجولة {n} من الدوري، ليقترب من المراكز الثلاثة الأولى.",
        body: &[
            "وقال مدرب الفريق بعد المباراة إن لاعبيه لعبوا بتركيز عالٍ واستغلوا الفرص جيداً.",
            "واحتفل المشجعون في المدرجات طويلاً بعد صافرة النهاية.",
        ],
        style: 4,
        tag: "كرة القدم",
    },
    Pattern {
        section: &["ثقافة"],
        headline: "افتتاح معرض {place} الدولي للكتاب بمشاركة {n} دار نشر",
        lead: "افتُتح اليوم معرض {place} الدولي للكتاب بمشاركة {n} دار نشر عربية وأجنبية ويستمر أسبوعاً.",
        body: &[
            "وخصص المنظمون جناحاً خاصاً لكتب الأطفال واليافعين.",
            "وتتضمن الفعاليات المصاحبة ندوات نقدية ولقاءات مع الكتّاب.",
        ],
        style: 5,
        tag: "كتب",
    },
    Pattern {
        section: &["إيران"],
        headline: "طهران تستضيف مؤتمراً دولياً حول الطاقة المتجددة",
        lead: "انطلقت في طهران أعمال مؤتمر دولي حول الطاقة المتجددة بمشاركة خبراء من {n} دولة.",
        body: &[
            "ويناقش المؤتمر مشاريع الطاقة الشمسية وطاقة الرياح وسبل تمويلها.",
            "وقال منظمون إن وفداً من {place} قدّم تجربة بلاده في تركيب الألواح الشمسية.",
        ],
        style: 0,
        tag: "طاقة",
    },
    Pattern {
        section: &["العالم"],
        headline: "تحذير أممي من شح المياه في المنطقة",
        lead: "حذّر تقرير جديد للأمم المتحدة من أن {n} مليون شخص في المنطقة قد يواجهون شحاً حاداً في المياه خلال السنوات المقبلة.",
        body: &[
            "ودعا التقرير إلى ترشيد الاستهلاك وإعادة تدوير المياه وتعزيز التعاون بين الدول المتجاورة.",
            "ويقول خبراء في {place} إن التغير المناخي فاقم تراجع معدلات الأمطار.",
        ],
        style: 1,
        tag: "بيئة",
    },
    Pattern {
        section: &["اقتصاد"],
        headline: "تدشين خط شحن بحري جديد يربط {place} بموانئ الخليج",
        lead: "دشّنت شركة ملاحة خطاً بحرياً جديداً يربط {place} بموانئ الخليج بسفن تنطلق كل {n} أيام.",
        body: &[
            "ويتوقع القائمون على المشروع أن يخفض الخط كلفة نقل البضائع ويختصر زمن الرحلة.",
            "وتستهدف الرحلات الأولى نقل المواد الغذائية ومواد البناء.",
        ],
        style: 3,
        tag: "نقل",
    },
    Pattern {
        section: &["ثقافة"],
        headline: "مهرجان {place} للفيلم القصير يعلن جوائزه",
        lead: "أعلنت لجنة تحكيم مهرجان {place} للفيلم القصير أسماء الفائزين من بين {n} فيلماً تأهلت للمسابقة الرسمية.",
        body: &[
            "وذهبت جائزة أفضل فيلم إلى عمل وثائقي عن حياة الصيادين على الساحل.",
            "وقال مدير المهرجان إن عدد الأفلام المشاركة هذا العام فاق كل الدورات السابقة.",
        ],
        style: 5,
        tag: "سينما",
    },
    Pattern {
        section: &["رياضة"],
        headline: "{n} ميدالية لرياضيي {place} في البطولة العربية",
        lead: "أحرز رياضيو {place} {n} ميدالية متنوعة في منافسات المصارعة ورفع الأثقال ضمن البطولة العربية.",
        body: &[
            "وأرجع مسؤولو الاتحاد هذه النتائج إلى برامج التدريب المنتظمة ودعم الأندية.",
            "وقد استُدعي عدد من الفائزين إلى معسكر المنتخب الوطني.",
        ],
        style: 4,
        tag: "مصارعة",
    },
    Pattern {
        section: &["إيران"],
        headline: "افتتاح {n} مشاريع للبنية التحتية في المحافظات الإيرانية",
        lead: "أعلنت الحكومة الإيرانية تدشين {n} مشاريع جديدة في مجالات المياه والطرق والتعليم في عدد من المحافظات.",
        body: &[
            "وتشمل المشاريع ترميم مدارس واستكمال شبكات مياه الشرب في القرى وتحسين الطرق الفرعية.",
            "وقال مسؤولون إن جزءاً من التمويل جاء بمشاركة القطاع الخاص.",
        ],
        style: 0,
        tag: "بنية تحتية",
    },
    Pattern {
        section: &["العالم"],
        headline: "قمة اقتصادية في {place} تبحث الأمن الغذائي",
        lead: "بحث قادة ومسؤولون اقتصاديون في قمة عُقدت في {place} سبل تعزيز الأمن الغذائي وتخزين الحبوب لمدة {n} شهراً.",
        body: &[
            "واتفق المشاركون على إنشاء صندوق مشترك لدعم صغار المزارعين.",
            "وأشار البيان الختامي إلى أهمية الاستثمار في تقنيات الري الحديثة.",
        ],
        style: 1,
        tag: "أمن غذائي",
    },
    Pattern {
        section: &["ثقافة"],
        headline: "إعادة افتتاح السوق القديمة في {place} بعد الترميم",
        lead: "أعيد افتتاح الجزء المرمم من السوق القديمة في {place} أمام التجار والزوار بعد {n} شهراً من أعمال الترميم.",
        body: &[
            "وشملت أعمال الترميم الأسقف الحجرية والبوابات والخانات القديمة.",
            "ويأمل المسؤولون أن يسهم افتتاح السوق في زيادة أعداد السياح.",
        ],
        style: 5,
        tag: "تراث",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use newsdesk_storage::StoryFilter;
    use newsdesk_storage::testing::TestDb;

    async fn fills_persian_and_arabic_editions(db: TestDb) {
        let store = &db.store;
        let now = newsdesk_domain::dates::from_unix(Utc::now().timestamp());
        let report = crate::demo::fill_site(store, 3, now, Calendar::Hijri).await.expect("demo site");
        assert_eq!(report.created, 4 + 2 * STORIES_PER_EDITION + 1, "English, Persian, Arabic and the translation");
        let editions = store.editions().await.expect("editions");
        assert_eq!(editions.iter().map(|e| e.lang.as_str()).collect::<Vec<_>>(), vec!["en", "fa", "ar"]);
        let fa = &editions[1];
        assert_eq!((fa.direction, fa.calendar, fa.digits), (Direction::Rtl, Calendar::SolarHijri, Digits::Persian));
        assert_eq!(fa.time_zone, chrono_tz::Asia::Tehran);
        let ar = &editions[2];
        assert_eq!((ar.direction, ar.calendar, ar.digits), (Direction::Rtl, Calendar::Hijri, Digits::ArabicIndic));
        for (e, tag, mark, author) in [(fa, FA_TAG, FA_MARK, FA_AUTHOR), (ar, AR_TAG, AR_MARK, AR_AUTHOR)] {
            let stories = store.published(&StoryFilter::Edition(e.id), None, 100).await.expect("list");
            // The Persian edition also has the seed's translation.
            let synthetic: Vec<_> = stories.iter().filter(|s| s.lead.ends_with(mark)).collect();
            assert_eq!(synthetic.len(), STORIES_PER_EDITION, "{}", e.lang);
            let newest = store.story(stories[0].news_id).await.expect("read").expect("story");
            assert!(newest.photo.is_some(), "the top story of {} has a photo", e.lang);
            for s in synthetic {
                let s = store.story(s.news_id).await.expect("read").expect("story");
                assert!(s.tags.iter().any(|t| t.name == tag), "{} is tagged {tag}", s.headline);
                assert_eq!(s.authors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), vec![author]);
                assert!(s.news_id > 84_427 + 3, "News IDs follow the English ones");
                assert!(!s.headline.contains('{') && !s.body_html.contains('{'));
            }
        }
        let links = store.translations(84_427).await.expect("translations");
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].lang, "fa");
        assert_eq!(links[0].headline, SEED_FA_HEADLINE);
        let translation = store.story(links[0].news_id).await.expect("read").expect("translation");
        let seed = store.story(84_427).await.expect("read").expect("seed");
        assert_eq!(translation.published_at, seed.published_at);
        assert_eq!(fa.format_long(translation.published_at.expect("published")), "۲۴ آبان ۱۴۰۲ - ۱۴:۳۷");
    }

    #[tokio::test]
    async fn fill_site_builds_the_persian_and_arabic_editions_on_sqlite() {
        fills_persian_and_arabic_editions(TestDb::sqlite().await).await;
    }

    #[tokio::test]
    async fn fill_site_builds_the_persian_and_arabic_editions_on_postgres() {
        if let Some(db) = TestDb::postgres().await {
            fills_persian_and_arabic_editions(db).await;
        }
    }

    #[test]
    fn every_story_pattern_fills_to_clean_text() {
        for p in FA_PATTERNS.iter().chain(AR_PATTERNS) {
            for text in std::iter::once(p.headline).chain([p.lead]).chain(p.body.iter().copied()) {
                let filled = text.replace("{place}", "x").replace("{n}", "1");
                assert!(!filled.contains('{') && !filled.contains('}'), "{text}");
                assert!(!filled.trim().is_empty());
            }
            assert!(!p.section.is_empty());
        }
    }
}
