//! How text becomes search terms, per language. Stories and queries go through
//! the same analyzer, chosen by the edition's language:
//!
//! - English: words, ASCII folding, lower case, stop words, Porter stemming.
//! - Persian and Arabic: words that keep their diacritics, tatweel and ZWNJ
//!   together (so «می‌روم» stays one word), then a normalizing filter: Arabic
//!   yeh and alef maksura → Persian yeh, Arabic kaf → keheh, alef variants → alef,
//!   teh marbuta → heh, diacritics (U+064B–U+065F, U+0670), tatweel and ZWNJ
//!   removed, Persian and Arabic-Indic digits → ASCII; then stop words. Arabic
//!   also loses the definite article (ال, وال, بال, ...), so «الرئيس» finds «رئيس».
//! - Any other language: words, lower case and the same normalization.

use newsdesk_domain::calendar::digit_value;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, Stemmer, StopWordFilter, TextAnalyzer, Token,
    TokenFilter, TokenStream, Tokenizer, TokenizerManager,
};

/// The analyzers the index knows, one per language family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Analyzer {
    /// English.
    English,
    /// Persian (Farsi).
    Persian,
    /// Arabic.
    Arabic,
    /// Every other language: words, lower case, script normalization, no stemming.
    Other,
}

impl Analyzer {
    /// All analyzers, in field order.
    pub const ALL: [Analyzer; 4] = [Analyzer::English, Analyzer::Persian, Analyzer::Arabic, Analyzer::Other];

    /// The analyzer for an edition's language code (`en`, `fa-IR`, `ar`, ...).
    pub fn for_lang(lang: &str) -> Analyzer {
        let primary = lang.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Analyzer::English,
            "fa" | "prs" | "pes" => Analyzer::Persian,
            "ar" => Analyzer::Arabic,
            _ => Analyzer::Other,
        }
    }

    /// Short name, used in field and tokenizer names.
    pub fn code(self) -> &'static str {
        match self {
            Analyzer::English => "en",
            Analyzer::Persian => "fa",
            Analyzer::Arabic => "ar",
            Analyzer::Other => "xx",
        }
    }

    /// The tokenizer's registered name.
    pub fn tokenizer_name(self) -> String {
        format!("newsdesk_{}", self.code())
    }

    /// Builds the text analyzer.
    pub fn build(self) -> TextAnalyzer {
        match self {
            Analyzer::English => TextAnalyzer::builder(WordTokenizer::default())
                .filter(RemoveLongFilter::limit(60))
                .filter(AsciiFoldingFilter)
                .filter(LowerCaser)
                .filter(ScriptNormalizer { strip_article: false, persian_plural: false })
                .filter(stop_words(ENGLISH_STOP_WORDS))
                .filter(Stemmer::new(Language::English))
                .build(),
            Analyzer::Persian => TextAnalyzer::builder(WordTokenizer::default())
                .filter(RemoveLongFilter::limit(60))
                .filter(LowerCaser)
                .filter(ScriptNormalizer { strip_article: false, persian_plural: false })
                .filter(stop_words(PERSIAN_STOP_WORDS))
                .filter(ScriptNormalizer { strip_article: false, persian_plural: true })
                .build(),
            Analyzer::Arabic => TextAnalyzer::builder(WordTokenizer::default())
                .filter(RemoveLongFilter::limit(60))
                .filter(LowerCaser)
                .filter(ScriptNormalizer { strip_article: false, persian_plural: false })
                .filter(stop_words(ARABIC_STOP_WORDS))
                .filter(ScriptNormalizer { strip_article: true, persian_plural: false })
                .build(),
            Analyzer::Other => TextAnalyzer::builder(WordTokenizer::default())
                .filter(RemoveLongFilter::limit(60))
                .filter(LowerCaser)
                .filter(ScriptNormalizer { strip_article: false, persian_plural: false })
                .build(),
        }
    }
}

/// Registers every analyzer with an index's tokenizer manager.
pub fn register(manager: &TokenizerManager) {
    for a in Analyzer::ALL {
        manager.register(&a.tokenizer_name(), a.build());
    }
}

/// Analyzes `text` as `analyzer` would for the index, returning the terms (for tests and tools).
pub fn terms(analyzer: Analyzer, text: &str) -> Vec<String> {
    let mut a = analyzer.build();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// A stop-word filter whose words are normalized like the text they are compared with.
fn stop_words(words: &[&str]) -> StopWordFilter {
    StopWordFilter::remove(words.iter().map(|w| normalize_word(&w.to_lowercase(), false)))
}

const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
];

const PERSIAN_STOP_WORDS: &[&str] = &[
    "و", "در", "به", "از", "که", "این", "آن", "را", "با", "است", "برای", "تا", "یا", "هم", "نیز", "بر", "هر", "اما",
    "یک", "ها", "های", "می", "شد", "شده", "شود", "بود", "کرد", "کند", "خود", "او", "ما", "آنها", "وی", "اند", "هست",
    "بین", "پس", "چه", "اگر", "همه",
];

const ARABIC_STOP_WORDS: &[&str] = &[
    "في",
    "من",
    "على",
    "إلى",
    "عن",
    "أن",
    "إن",
    "مع",
    "هذا",
    "هذه",
    "ذلك",
    "التي",
    "الذي",
    "الذين",
    "ما",
    "لا",
    "لم",
    "لن",
    "و",
    "أو",
    "ثم",
    "كان",
    "كانت",
    "قد",
    "كما",
    "بين",
    "بعد",
    "قبل",
    "حتى",
    "عند",
    "هو",
    "هي",
    "كل",
    "أي",
    "إذا",
    "منذ",
    "خلال",
    "حيث",
];

/// Splits text into words. A word is a run of letters and digits, together with
/// the marks that live inside Arabic-script words (diacritics, tatweel) and the
/// zero-width (non-)joiner, so a Persian word written with ZWNJ stays one token.
#[derive(Clone, Default)]
pub struct WordTokenizer {
    token: Token,
}

/// Token stream of [`WordTokenizer`].
pub struct WordTokenStream<'a> {
    text: &'a str,
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    token: &'a mut Token,
}

/// Marks and joiners that belong inside a word without starting one.
fn is_word_joiner(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'     // combining diacritical marks (Latin etc.)
        | '\u{0610}'..='\u{061A}'   // Arabic signs above/below
        | '\u{064B}'..='\u{065F}'   // Arabic harakat
        | '\u{0670}'                // superscript alef
        | '\u{06D6}'..='\u{06ED}'   // Quranic annotation marks
        | '\u{0640}'                // tatweel
        | '\u{200C}' | '\u{200D}'   // ZWNJ, ZWJ
    )
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordTokenStream<'a> {
        self.token.reset();
        WordTokenStream { text, chars: text.char_indices().peekable(), token: &mut self.token }
    }
}

impl TokenStream for WordTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        self.token.position = self.token.position.wrapping_add(1);
        while let Some((start, c)) = self.chars.next() {
            if !c.is_alphanumeric() {
                continue;
            }
            let mut end = start + c.len_utf8();
            while let Some(&(i, c)) = self.chars.peek() {
                if c.is_alphanumeric() || is_word_joiner(c) {
                    end = i + c.len_utf8();
                    self.chars.next();
                } else {
                    break;
                }
            }
            self.token.offset_from = start;
            self.token.offset_to = end;
            self.token.text.push_str(&self.text[start..end]);
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Normalizes Arabic-script spelling and digits in each token (see the module
/// doc); with `strip_article`, also removes the Arabic definite article.
/// Tokens left empty (a lone tatweel or diacritic) are dropped.
#[derive(Clone, Copy)]
pub struct ScriptNormalizer {
    /// Remove the Arabic definite article and its proclitics.
    pub strip_article: bool,
    /// Remove the Persian plural suffix (ها, های, هایی), so «کتاب‌ها» finds «کتاب».
    pub persian_plural: bool,
}

/// A Persian word without its plural suffix «ها», «های» or «هایی» (after
/// normalization the ZWNJ before it is gone); at least three letters are
/// kept, so short words that merely end in those letters («تنها», «بها») stay.
pub fn strip_persian_plural(word: &str) -> &str {
    for suffix in ["هایی", "های", "ها"] {
        if let Some(stem) = word.strip_suffix(suffix)
            && stem.chars().count() >= 3
        {
            return stem;
        }
    }
    word
}

/// Normalizes one word as [`ScriptNormalizer`] does.
pub fn normalize_word(word: &str, strip_article: bool) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        match c {
            '\u{064A}' | '\u{0649}' | '\u{0626}' => out.push('\u{06CC}'), // ي ى ئ → ی
            '\u{0643}' => out.push('\u{06A9}'),                           // ك → ک
            '\u{0623}' | '\u{0625}' | '\u{0622}' | '\u{0671}' => out.push('\u{0627}'), // أ إ آ ٱ → ا
            '\u{0629}' | '\u{06C0}' | '\u{06BE}' => out.push('\u{0647}'), // ة ۀ ھ → ه
            '\u{0624}' => out.push('\u{0648}'),                           // ؤ → و
            c if is_word_joiner(c) => {}
            c => match digit_value(c) {
                Some(d) => out.push(char::from_digit(d, 10).unwrap_or(c)),
                None => out.push(c),
            },
        }
    }
    if strip_article {
        // Longest proclitic first; keep at least two letters of the word.
        for prefix in ["وال", "بال", "کال", "فال", "لل", "ال"] {
            if let Some(rest) = out.strip_prefix(prefix)
                && rest.chars().count() >= 2
            {
                return rest.to_string();
            }
        }
    }
    out
}

impl TokenFilter for ScriptNormalizer {
    type Tokenizer<T: Tokenizer> = ScriptNormalizerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> ScriptNormalizerFilter<T> {
        ScriptNormalizerFilter {
            inner: tokenizer,
            strip_article: self.strip_article,
            persian_plural: self.persian_plural,
        }
    }
}

/// The tokenizer [`ScriptNormalizer`] wraps around another.
#[derive(Clone)]
pub struct ScriptNormalizerFilter<T> {
    inner: T,
    strip_article: bool,
    persian_plural: bool,
}

impl<T: Tokenizer> Tokenizer for ScriptNormalizerFilter<T> {
    type TokenStream<'a> = ScriptNormalizerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        ScriptNormalizerStream {
            tail: self.inner.token_stream(text),
            strip_article: self.strip_article,
            persian_plural: self.persian_plural,
        }
    }
}

/// Token stream of [`ScriptNormalizerFilter`].
pub struct ScriptNormalizerStream<T> {
    tail: T,
    strip_article: bool,
    persian_plural: bool,
}

impl<T: TokenStream> TokenStream for ScriptNormalizerStream<T> {
    fn advance(&mut self) -> bool {
        while self.tail.advance() {
            let token = self.tail.token_mut();
            // ASCII words have nothing to normalize (and no article to strip).
            if !token.text.is_ascii() {
                token.text = normalize_word(&token.text, self.strip_article);
                if self.persian_plural {
                    token.text = strip_persian_plural(&token.text).to_string();
                }
            }
            if !token.text.is_empty() {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zwnj_words_stay_one_term_and_match_the_joined_spelling() {
        assert_eq!(terms(Analyzer::Persian, "می‌روم"), terms(Analyzer::Persian, "میروم"));
        assert_eq!(terms(Analyzer::Persian, "می‌روم"), vec!["میروم".to_string()]);
    }

    #[test]
    fn arabic_letters_map_to_persian_ones() {
        // Arabic yeh and kaf, as typed on an Arabic keyboard.
        assert_eq!(terms(Analyzer::Persian, "ايران كشور"), terms(Analyzer::Persian, "ایران کشور"));
        assert_eq!(terms(Analyzer::Persian, "مدرسة"), terms(Analyzer::Persian, "مدرسه"));
    }

    #[test]
    fn diacritics_tatweel_and_alef_variants_vanish() {
        assert_eq!(terms(Analyzer::Arabic, "مُحَمَّد"), terms(Analyzer::Arabic, "محمد"));
        assert_eq!(terms(Analyzer::Arabic, "مـــحمد"), terms(Analyzer::Arabic, "محمد"));
        assert_eq!(terms(Analyzer::Arabic, "أحمد إبراهيم"), terms(Analyzer::Arabic, "احمد ابراهيم"));
        assert_eq!(terms(Analyzer::Arabic, "الرئيس"), terms(Analyzer::Arabic, "رئيس"));
        assert_eq!(terms(Analyzer::Arabic, "ــ"), Vec::<String>::new());
    }

    #[test]
    fn digits_become_ascii() {
        assert_eq!(terms(Analyzer::Persian, "۱۴۰۲"), vec!["1402".to_string()]);
        assert_eq!(terms(Analyzer::Arabic, "٢٠٢٣"), vec!["2023".to_string()]);
        assert_eq!(terms(Analyzer::English, "۲۰۲۳ budget"), vec!["2023".to_string(), "budget".to_string()]);
    }

    #[test]
    fn persian_plurals_find_the_singular() {
        let book = vec!["کتاب".to_string()];
        for plural in ["کتاب‌ها", "کتابها", "کتاب‌های", "کتاب‌هایی"] {
            assert_eq!(terms(Analyzer::Persian, plural), book, "{plural}");
        }
        // Short words that only end in the same letters keep them.
        assert_eq!(terms(Analyzer::Persian, "بها"), vec!["بها".to_string()]);
        assert_eq!(terms(Analyzer::Persian, "خبرها"), vec!["خبر".to_string()]);
    }

    #[test]
    fn stop_words_are_dropped() {
        assert_eq!(terms(Analyzer::Persian, "کتاب در خانه است"), vec!["کتاب".to_string(), "خانه".to_string()]);
        assert_eq!(terms(Analyzer::Arabic, "في المدينة"), vec!["مدینه".to_string()]);
        assert_eq!(terms(Analyzer::English, "the minister of oil"), vec!["minist".to_string(), "oil".to_string()]);
    }

    #[test]
    fn english_is_stemmed_and_folded() {
        assert_eq!(terms(Analyzer::English, "Elections"), terms(Analyzer::English, "election"));
        assert_eq!(terms(Analyzer::English, "Café"), vec!["cafe".to_string()]);
    }

    #[test]
    fn tokens_keep_their_offsets_in_the_original_text() {
        let text = "سلام می‌روم";
        let mut a = Analyzer::Persian.build();
        let mut s = a.token_stream(text);
        assert!(s.advance());
        assert!(s.advance());
        let t = s.token();
        assert_eq!(&text[t.offset_from..t.offset_to], "می‌روم");
    }

    #[test]
    fn lang_codes_choose_analyzers() {
        assert_eq!(Analyzer::for_lang("fa-IR"), Analyzer::Persian);
        assert_eq!(Analyzer::for_lang("ar"), Analyzer::Arabic);
        assert_eq!(Analyzer::for_lang("en"), Analyzer::English);
        assert_eq!(Analyzer::for_lang("de"), Analyzer::Other);
    }
}
