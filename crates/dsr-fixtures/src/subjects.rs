//! The special subjects of the demo estate and every value a test may want to assert on.
//!
//! Special customers have ids below 100; the rows they own in other tables have ids below
//! [`FILLER_FIRST_ID`]. Each special customer has exactly one card, one login and one support
//! ticket, each with the customer's id as its own id, and at least one order and page view.
//! Each points at the address with its own id, except Cara and Dan, who share
//! [`SHARED_ADDRESS_ID`] (there is no address 4). Only Ana and Lou have identity documents
//! (ids [`ANA_ID`] and [`LOU_ID`]).
//!
//! Every value here is distinctive: no filler row repeats an email, phone (compared by its
//! digits), name, card number, SSN, licence number, password hash or security answer of a
//! special subject, so a test can grep a report, a log or an evidence bundle for them.
//! Card numbers, SSNs and licences are stored exactly as written here (cards with spaces).

/// First id of filler customers (and of filler rows in every other table).
pub const FILLER_FIRST_ID: i64 = 1000;

/// Client id of the first Client we hold marketing contacts for (as its service provider).
pub const CLIENT_ACME: &str = "acme-retail";
/// Client id of the second Client we hold marketing contacts for.
pub const CLIENT_GLOBEX: &str = "globex";

/// The legal hold in `config/exemptions.toml` that covers [`LOU_ID`].
pub const LEGAL_HOLD_MATTER: &str = "matter-2026-014";

/// An email that appears in no table of either database.
pub const NOBODY_EMAIL: &str = "nobody@example.org";

// ---------------------------------------------------------------------------------------
// Ana Alvarez: every kind of sensitive value, plus sensitive values typed into free text.
// ---------------------------------------------------------------------------------------

/// Ana Alvarez's customer id.
pub const ANA_ID: i64 = 1;
/// Ana's full name.
pub const ANA_NAME: &str = "Ana Alvarez";
/// Ana's email.
pub const ANA_EMAIL: &str = "ana.alvarez@example.com";
/// Ana's phone.
pub const ANA_PHONE: &str = "+1 415 555 0101";
/// Ana's date of birth.
pub const ANA_BIRTH_DATE: &str = "1988-04-12";
/// Street line of Ana's address (address id [`ANA_ID`]).
pub const ANA_ADDRESS_LINE1: &str = "17 Juniper Court";
/// Ana's Social Security number (identity document id [`ANA_ID`]).
pub const ANA_SSN: &str = "521-44-7788";
/// Ana's driver's licence number.
pub const ANA_DRIVERS_LICENSE: &str = "D4471123";
/// Ana's card number (Luhn-valid; card id [`ANA_ID`]).
pub const ANA_CARD_NUMBER: &str = "4539 1488 0343 6467";
/// Ana's login user name.
pub const ANA_USERNAME: &str = "ana.alvarez";
/// Ana's password hash.
pub const ANA_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$anaHashValueXyZ";
/// Ana's security question.
pub const ANA_SECURITY_QUESTION: &str = "Name of your first pet?";
/// Ana's security answer.
pub const ANA_SECURITY_ANSWER: &str = "Biscuit-the-Beagle-77";
/// Ana's last login IP address.
pub const ANA_LAST_LOGIN_IP: &str = "203.0.113.11";
/// Ana's orders: delivered 400 days ago (outside a 12-month lookback) and 120 days ago.
pub const ANA_ORDER_IDS: [i64; 2] = [1, 2];
/// Body of Ana's support ticket (id [`ANA_ID`]): her SSN and card number in free text.
pub const ANA_TICKET_BODY: &str = "Hi, I can't log in to my account. To prove it's me: my SSN is \
     521-44-7788 and I paid with my card 4539 1488 0343 6467 last time. Thanks, Ana";
/// Ana's own marketing contact (no Client): deleted on her request.
pub const ANA_MARKETING_ID: i64 = 1;
/// Ana's marketing contact held for [`CLIENT_ACME`]: untouched by her direct request.
pub const ANA_ACME_MARKETING_ID: i64 = 2;

// ---------------------------------------------------------------------------------------
// Ben Brooks: a deletion of which part is exempt.
// ---------------------------------------------------------------------------------------

/// Ben Brooks's customer id.
pub const BEN_ID: i64 = 2;
/// Ben's full name.
pub const BEN_NAME: &str = "Ben Brooks";
/// Ben's email.
pub const BEN_EMAIL: &str = "ben.brooks@example.com";
/// Ben's phone.
pub const BEN_PHONE: &str = "+1 415 555 0102";
/// Ben's open order, created 10 days ago: exempt (`complete_transaction`).
pub const BEN_OPEN_ORDER_ID: i64 = 3;
/// Ben's closed order, created 200 days ago: deletable.
pub const BEN_CLOSED_ORDER_ID: i64 = 4;
/// Ben's card number (fraud flag 0: deletable).
pub const BEN_CARD_NUMBER: &str = "4485 2710 0042 8873";
/// Ben's password hash; his login has fraud flag 1 (exempt: `security_integrity`).
pub const BEN_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$benHashValueQrS";
/// Ben's security answer.
pub const BEN_SECURITY_ANSWER: &str = "Tulsa-Oklahoma-1979";
/// Ben's marketing contact held for [`CLIENT_ACME`]: untouched by his direct request.
pub const BEN_ACME_MARKETING_ID: i64 = 3;

// ---------------------------------------------------------------------------------------
// Cara Cole and Dan Diaz: a shared address and a card used on someone else's order.
// ---------------------------------------------------------------------------------------

/// The address row both Cara and Dan point at.
pub const SHARED_ADDRESS_ID: i64 = 3;
/// Street line of the shared address.
pub const SHARED_ADDRESS_LINE1: &str = "33 Cedar Row";

/// Cara Cole's customer id.
pub const CARA_ID: i64 = 3;
/// Cara's full name.
pub const CARA_NAME: &str = "Cara Cole";
/// Cara's email.
pub const CARA_EMAIL: &str = "cara.cole@example.com";
/// Cara's phone.
pub const CARA_PHONE: &str = "+1 415 555 0103";
/// Cara's card id.
pub const CARA_CARD_ID: i64 = 3;
/// Cara's card number (Luhn-valid).
pub const CARA_CARD_NUMBER: &str = "4716 1089 9971 6531";
/// Cara's order paid with Dan's card ([`DAN_CARD_ID`]).
pub const CARA_ORDER_WITH_DANS_CARD_ID: i64 = 5;
/// Cara's order paid with her own card.
pub const CARA_ORDER_WITH_OWN_CARD_ID: i64 = 6;
/// Cara's password hash.
pub const CARA_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$caraHashValueLmN";
/// Cara's security answer.
pub const CARA_SECURITY_ANSWER: &str = "Mrs-Okafor-Grade3";

/// Dan Diaz's customer id.
pub const DAN_ID: i64 = 4;
/// Dan's full name.
pub const DAN_NAME: &str = "Dan Diaz";
/// Dan's email.
pub const DAN_EMAIL: &str = "dan.diaz@example.com";
/// Dan's phone.
pub const DAN_PHONE: &str = "+1 415 555 0104";
/// Dan's card id (also used on Cara's order [`CARA_ORDER_WITH_DANS_CARD_ID`]).
pub const DAN_CARD_ID: i64 = 4;
/// Dan's card number (Luhn-valid).
pub const DAN_CARD_NUMBER: &str = "5425 2334 3010 9903";
/// Dan's own order.
pub const DAN_ORDER_ID: i64 = 7;
/// Dan's password hash.
pub const DAN_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$danHashValueTuV";
/// Dan's security answer.
pub const DAN_SECURITY_ANSWER: &str = "Rusty-Volvo-240";

// ---------------------------------------------------------------------------------------
// Ordinary subjects: Eve, Finn, Gus.
// ---------------------------------------------------------------------------------------

/// Eve Evans's customer id (access to categories; opt-out).
pub const EVE_ID: i64 = 5;
/// Eve's full name.
pub const EVE_NAME: &str = "Eve Evans";
/// Eve's email.
pub const EVE_EMAIL: &str = "eve.evans@example.com";
/// Eve's phone.
pub const EVE_PHONE: &str = "+1 415 555 0105";
/// Eve's card number.
pub const EVE_CARD_NUMBER: &str = "4024 0071 5544 3210";
/// Eve's password hash.
pub const EVE_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$eveHashValueGhI";
/// Eve's security answer.
pub const EVE_SECURITY_ANSWER: &str = "Pepper-the-Parrot-12";
/// Eve's marketing contact (no Client).
pub const EVE_MARKETING_ID: i64 = 4;

/// Finn Fox's customer id (access verified only to a reasonable degree).
pub const FINN_ID: i64 = 6;
/// Finn's full name.
pub const FINN_NAME: &str = "Finn Fox";
/// Finn's email.
pub const FINN_EMAIL: &str = "finn.fox@example.com";
/// Finn's phone.
pub const FINN_PHONE: &str = "+1 415 555 0106";
/// Finn's card number.
pub const FINN_CARD_NUMBER: &str = "5293 8810 4406 2170";
/// Finn's password hash.
pub const FINN_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$finnHashValueJkL";
/// Finn's security answer.
pub const FINN_SECURITY_ANSWER: &str = "Fitzgerald-Finn-06";

/// Gus Grant's customer id (his request is not verified: denied).
pub const GUS_ID: i64 = 8;
/// Gus's full name.
pub const GUS_NAME: &str = "Gus Grant";
/// Gus's email.
pub const GUS_EMAIL: &str = "gus.grant@example.com";
/// Gus's phone.
pub const GUS_PHONE: &str = "+1 415 555 0108";
/// Gus's card number.
pub const GUS_CARD_NUMBER: &str = "5567 3412 9044 1189";
/// Gus's password hash.
pub const GUS_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$gusHashValuePqR";
/// Gus's security answer.
pub const GUS_SECURITY_ANSWER: &str = "Nacho-the-Cat-88";

// ---------------------------------------------------------------------------------------
// Lou Lane: on a legal hold.
// ---------------------------------------------------------------------------------------

/// Lou Lane's customer id (on the legal hold [`LEGAL_HOLD_MATTER`]).
pub const LOU_ID: i64 = 7;
/// Lou's full name.
pub const LOU_NAME: &str = "Lou Lane";
/// Lou's email.
pub const LOU_EMAIL: &str = "lou.lane@example.com";
/// Lou's phone.
pub const LOU_PHONE: &str = "+1 415 555 0107";
/// Lou's orders (both closed, long ago: only the legal hold keeps them).
pub const LOU_ORDER_IDS: [i64; 2] = [10, 11];
/// Lou's card number.
pub const LOU_CARD_NUMBER: &str = "4916 7700 1234 5677";
/// Lou's SSN (identity document id [`LOU_ID`]).
pub const LOU_SSN: &str = "532-18-4406";
/// Lou's driver's licence number.
pub const LOU_DRIVERS_LICENSE: &str = "D7702219";
/// Lou's password hash.
pub const LOU_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$louHashValueMnO";
/// Lou's security answer.
pub const LOU_SECURITY_ANSWER: &str = "Duluth-Minnesota-70";

// ---------------------------------------------------------------------------------------
// Hal Hunt and Ivy Irwin: two different customers (a request naming both is held).
// ---------------------------------------------------------------------------------------

/// Hal Hunt's customer id.
pub const HAL_ID: i64 = 9;
/// Hal's full name.
pub const HAL_NAME: &str = "Hal Hunt";
/// Hal's email.
pub const HAL_EMAIL: &str = "hal.hunt@example.com";
/// Hal's phone.
pub const HAL_PHONE: &str = "+1 415 555 0109";
/// Hal's card number.
pub const HAL_CARD_NUMBER: &str = "4556 0919 7731 0241";
/// Hal's password hash.
pub const HAL_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$halHashValueStU";
/// Hal's security answer.
pub const HAL_SECURITY_ANSWER: &str = "Green-Pinto-1975";

/// Ivy Irwin's customer id.
pub const IVY_ID: i64 = 10;
/// Ivy's full name.
pub const IVY_NAME: &str = "Ivy Irwin";
/// Ivy's email.
pub const IVY_EMAIL: &str = "ivy.irwin@example.com";
/// Ivy's phone.
pub const IVY_PHONE: &str = "+1 415 555 0110";
/// Ivy's card number.
pub const IVY_CARD_NUMBER: &str = "5189 4402 6618 3508";
/// Ivy's password hash.
pub const IVY_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$ivyHashValueVwX";
/// Ivy's security answer.
pub const IVY_SECURITY_ANSWER: &str = "Mr-Castellano-Art";

// ---------------------------------------------------------------------------------------
// Jon and Kim Jones: a household sharing one phone, with separate addresses.
// ---------------------------------------------------------------------------------------

/// The phone Jon and Kim share.
pub const JONES_SHARED_PHONE: &str = "+1 415 555 0111";

/// Jon Jones's customer id.
pub const JON_ID: i64 = 11;
/// Jon's full name.
pub const JON_NAME: &str = "Jon Jones";
/// Jon's email.
pub const JON_EMAIL: &str = "jon.jones@example.com";
/// Jon's card number.
pub const JON_CARD_NUMBER: &str = "4532 6611 0870 1945";
/// Jon's password hash.
pub const JON_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$jonHashValueYzA";
/// Jon's security answer.
pub const JON_SECURITY_ANSWER: &str = "Whitaker-Jon-68";

/// Kim Jones's customer id.
pub const KIM_ID: i64 = 12;
/// Kim's full name.
pub const KIM_NAME: &str = "Kim Jones";
/// Kim's email.
pub const KIM_EMAIL: &str = "kim.jones@example.com";
/// Kim's card number.
pub const KIM_CARD_NUMBER: &str = "5301 7745 2296 4084";
/// Kim's password hash.
pub const KIM_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$kimHashValueBcD";
/// Kim's security answer.
pub const KIM_SECURITY_ANSWER: &str = "Mochi-the-Rabbit-71";

// ---------------------------------------------------------------------------------------
// Near misses of Ana: must never match her.
// ---------------------------------------------------------------------------------------

/// Customer id of the near miss with Ana's email on another domain.
pub const NEAR_DOMAIN_ID: i64 = 13;
/// Near miss: Ana's address with another case and domain (`.co`).
pub const NEAR_DOMAIN_EMAIL: &str = "Ana.Alvarez@example.co";
/// The `.co` near miss's name.
pub const NEAR_DOMAIN_NAME: &str = "Ana M. Alvarez";
/// The `.co` near miss's phone.
pub const NEAR_DOMAIN_PHONE: &str = "+1 415 555 0113";
/// The `.co` near miss's card number (differs from Ana's in the last digits).
pub const NEAR_DOMAIN_CARD_NUMBER: &str = "4539 1488 0343 6459";
/// The `.co` near miss's password hash.
pub const NEAR_DOMAIN_PASSWORD_HASH: &str =
    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$nearAnaHashValueEfG";
/// The `.co` near miss's security answer.
pub const NEAR_DOMAIN_SECURITY_ANSWER: &str = "Waffles-the-Pug-93";
/// The `.co` near miss's marketing contact.
pub const NEAR_DOMAIN_MARKETING_ID: i64 = 5;

/// Customer id of the near miss with an accent in Ana's email.
pub const NEAR_ACCENT_ID: i64 = 14;
/// Near miss: Ana's email with `ä` for `a` (accents are never folded).
pub const NEAR_ACCENT_EMAIL: &str = "anä.alvarez@example.com";
/// The accented near miss's name.
pub const NEAR_ACCENT_NAME: &str = "Anä Alvarez";
/// The accented near miss's phone.
pub const NEAR_ACCENT_PHONE: &str = "+1 415 555 0114";
/// The accented near miss's card number.
pub const NEAR_ACCENT_CARD_NUMBER: &str = "4485 9032 1176 5525";
/// The accented near miss's password hash.
pub const NEAR_ACCENT_PASSWORD_HASH: &str =
    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$accentAnaHashValueHiJ";
/// The accented near miss's security answer.
pub const NEAR_ACCENT_SECURITY_ANSWER: &str = "Lyon-France-87";

// ---------------------------------------------------------------------------------------
// Mia Moss: a minor (under 16 on the day of any request), and data points for verification.
// ---------------------------------------------------------------------------------------

/// Mia Moss's customer id: her date of birth puts her under 16 (see [`minor_birth_date`]).
pub const MIA_ID: i64 = 15;
/// Mia's full name.
pub const MIA_NAME: &str = "Mia Moss";
/// Mia's email.
pub const MIA_EMAIL: &str = "mia.moss@example.com";
/// Mia's phone.
pub const MIA_PHONE: &str = "+1 415 555 0115";
/// Mia's card number (Luhn-valid).
pub const MIA_CARD_NUMBER: &str = "4716 5520 9013 8840";
/// Mia's password hash.
pub const MIA_PASSWORD_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$miaHashValueStU";
/// Mia's security answer.
pub const MIA_SECURITY_ANSWER: &str = "Sprinkles-the-Hamster-14";
/// Mia's age in whole years at the estate's `now` (her birthday is `now` minus this many years).
pub const MIA_AGE_YEARS: u32 = 13;

/// Mia's date of birth for an estate generated at `now`: `MIA_AGE_YEARS` years earlier, so
/// she is a minor whenever the estate is built.
pub fn minor_birth_date(now: chrono::DateTime<chrono::Utc>) -> String {
    let today = now.date_naive();
    today
        .checked_sub_months(chrono::Months::new(MIA_AGE_YEARS * 12))
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string()
}

/// Postal code of Ana's own address, for verification data points.
pub const ANA_POSTCODE: &str = "94110";
/// Finn's postal code.
pub const FINN_POSTCODE: &str = "95112";
/// Gus's postal code.
pub const GUS_POSTCODE: &str = "93721";
/// Mia's postal code.
pub const MIA_POSTCODE: &str = "95060";
/// Cara's date of birth.
pub const CARA_BIRTH_DATE: &str = "1991-02-14";

/// The last four digits of a card number, as a requester gives them.
pub fn last4(card: &str) -> String {
    let digits: Vec<char> = card.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(4)..].iter().collect()
}

// ---------------------------------------------------------------------------------------
// Collections.
// ---------------------------------------------------------------------------------------

/// Ids of all special customers, ascending.
pub const SPECIAL_IDS: [i64; 15] = [
    ANA_ID,
    BEN_ID,
    CARA_ID,
    DAN_ID,
    EVE_ID,
    FINN_ID,
    LOU_ID,
    GUS_ID,
    HAL_ID,
    IVY_ID,
    JON_ID,
    KIM_ID,
    NEAR_DOMAIN_ID,
    NEAR_ACCENT_ID,
    MIA_ID,
];

/// Emails of all special customers, in [`SPECIAL_IDS`] order.
pub const SPECIAL_EMAILS: [&str; 15] = [
    ANA_EMAIL,
    BEN_EMAIL,
    CARA_EMAIL,
    DAN_EMAIL,
    EVE_EMAIL,
    FINN_EMAIL,
    LOU_EMAIL,
    GUS_EMAIL,
    HAL_EMAIL,
    IVY_EMAIL,
    JON_EMAIL,
    KIM_EMAIL,
    NEAR_DOMAIN_EMAIL,
    NEAR_ACCENT_EMAIL,
    MIA_EMAIL,
];

/// Phones of all special customers, in [`SPECIAL_IDS`] order (Jon and Kim share one).
pub const SPECIAL_PHONES: [&str; 15] = [
    ANA_PHONE,
    BEN_PHONE,
    CARA_PHONE,
    DAN_PHONE,
    EVE_PHONE,
    FINN_PHONE,
    LOU_PHONE,
    GUS_PHONE,
    HAL_PHONE,
    IVY_PHONE,
    JONES_SHARED_PHONE,
    JONES_SHARED_PHONE,
    NEAR_DOMAIN_PHONE,
    NEAR_ACCENT_PHONE,
    MIA_PHONE,
];

/// Card numbers of all special customers, in [`SPECIAL_IDS`] order (card id = customer id).
pub const SPECIAL_CARD_NUMBERS: [&str; 15] = [
    ANA_CARD_NUMBER,
    BEN_CARD_NUMBER,
    CARA_CARD_NUMBER,
    DAN_CARD_NUMBER,
    EVE_CARD_NUMBER,
    FINN_CARD_NUMBER,
    LOU_CARD_NUMBER,
    GUS_CARD_NUMBER,
    HAL_CARD_NUMBER,
    IVY_CARD_NUMBER,
    JON_CARD_NUMBER,
    KIM_CARD_NUMBER,
    NEAR_DOMAIN_CARD_NUMBER,
    NEAR_ACCENT_CARD_NUMBER,
    MIA_CARD_NUMBER,
];

/// Password hashes of all special customers, in [`SPECIAL_IDS`] order (login id = customer id).
pub const SPECIAL_PASSWORD_HASHES: [&str; 15] = [
    ANA_PASSWORD_HASH,
    BEN_PASSWORD_HASH,
    CARA_PASSWORD_HASH,
    DAN_PASSWORD_HASH,
    EVE_PASSWORD_HASH,
    FINN_PASSWORD_HASH,
    LOU_PASSWORD_HASH,
    GUS_PASSWORD_HASH,
    HAL_PASSWORD_HASH,
    IVY_PASSWORD_HASH,
    JON_PASSWORD_HASH,
    KIM_PASSWORD_HASH,
    NEAR_DOMAIN_PASSWORD_HASH,
    NEAR_ACCENT_PASSWORD_HASH,
    MIA_PASSWORD_HASH,
];

/// Security answers of all special customers, in [`SPECIAL_IDS`] order.
pub const SPECIAL_SECURITY_ANSWERS: [&str; 15] = [
    ANA_SECURITY_ANSWER,
    BEN_SECURITY_ANSWER,
    CARA_SECURITY_ANSWER,
    DAN_SECURITY_ANSWER,
    EVE_SECURITY_ANSWER,
    FINN_SECURITY_ANSWER,
    LOU_SECURITY_ANSWER,
    GUS_SECURITY_ANSWER,
    HAL_SECURITY_ANSWER,
    IVY_SECURITY_ANSWER,
    JON_SECURITY_ANSWER,
    KIM_SECURITY_ANSWER,
    NEAR_DOMAIN_SECURITY_ANSWER,
    NEAR_ACCENT_SECURITY_ANSWER,
    MIA_SECURITY_ANSWER,
];

/// Every sensitive value of the special subjects (SSNs, licences, card numbers, password
/// hashes, security answers), exactly as stored: none may ever appear in an access report,
/// log or evidence. Security questions are sensitive too but are shared with filler subjects,
/// so they are not listed here.
pub const SENSITIVE_VALUES: &[&str] = &[
    ANA_SSN,
    ANA_DRIVERS_LICENSE,
    LOU_SSN,
    LOU_DRIVERS_LICENSE,
    ANA_CARD_NUMBER,
    BEN_CARD_NUMBER,
    CARA_CARD_NUMBER,
    DAN_CARD_NUMBER,
    EVE_CARD_NUMBER,
    FINN_CARD_NUMBER,
    LOU_CARD_NUMBER,
    GUS_CARD_NUMBER,
    HAL_CARD_NUMBER,
    IVY_CARD_NUMBER,
    JON_CARD_NUMBER,
    KIM_CARD_NUMBER,
    NEAR_DOMAIN_CARD_NUMBER,
    NEAR_ACCENT_CARD_NUMBER,
    MIA_CARD_NUMBER,
    ANA_PASSWORD_HASH,
    BEN_PASSWORD_HASH,
    CARA_PASSWORD_HASH,
    DAN_PASSWORD_HASH,
    EVE_PASSWORD_HASH,
    FINN_PASSWORD_HASH,
    LOU_PASSWORD_HASH,
    GUS_PASSWORD_HASH,
    HAL_PASSWORD_HASH,
    IVY_PASSWORD_HASH,
    JON_PASSWORD_HASH,
    KIM_PASSWORD_HASH,
    NEAR_DOMAIN_PASSWORD_HASH,
    NEAR_ACCENT_PASSWORD_HASH,
    MIA_PASSWORD_HASH,
    ANA_SECURITY_ANSWER,
    BEN_SECURITY_ANSWER,
    CARA_SECURITY_ANSWER,
    DAN_SECURITY_ANSWER,
    EVE_SECURITY_ANSWER,
    FINN_SECURITY_ANSWER,
    LOU_SECURITY_ANSWER,
    GUS_SECURITY_ANSWER,
    HAL_SECURITY_ANSWER,
    IVY_SECURITY_ANSWER,
    JON_SECURITY_ANSWER,
    KIM_SECURITY_ANSWER,
    NEAR_DOMAIN_SECURITY_ANSWER,
    NEAR_ACCENT_SECURITY_ANSWER,
    MIA_SECURITY_ANSWER,
];
