//! The list cursor is outside input: it comes back in `before=` on the
//! site's lists and in `cursor=` on the API and the wire. Any string decodes
//! to a cursor or to nothing, never a panic; every form ever handed out reads
//! back as the cursor it was made from; a News ID we never hand out (zero or
//! negative) is refused in every form.

use newsdesk_storage::Cursor;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_string_decodes_or_not_without_panic(s in prop_oneof![
        ".{0,80}",
        "-?[0-9]{0,25}-?-?[0-9]{0,25}",
        "[0-9a-fA-F]{0,120}",
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(hex::encode),
        "(v1:)?-?[0-9]{0,22}:-?[0-9]{0,22}".prop_map(hex::encode),
    ]) {
        if let Some(c) = Cursor::decode(&s) {
            prop_assert!(c.news_id > 0, "{s:?} gave {c:?}");
        }
    }

    #[test]
    fn every_form_reads_back(published_at in any::<i64>(), news_id in any::<i64>()) {
        let c = Cursor { published_at, news_id };
        let wire_v1 = hex::encode(format!("v1:{published_at}:{news_id}"));
        let expected = (news_id > 0).then_some(c);
        prop_assert_eq!(Cursor::decode(&c.encode()), expected);
        prop_assert_eq!(Cursor::decode(&c.encode_opaque()), expected);
        prop_assert_eq!(Cursor::decode(&wire_v1), expected);
        prop_assert!(c.encode_opaque().bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
