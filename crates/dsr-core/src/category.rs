//! PI categories of the policy and the sensitive kinds of 11 CCR §7024(d).

use serde::{Deserialize, Serialize};

/// A category of personal information, as the policy's chart names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Identifiers such as name, account ids, device ids.
    UniqueIdentifiers,
    /// Contact information: email, phone, postal address.
    Contact,
    /// Financial information: payment cards, bank accounts.
    Financial,
    /// Characteristics of protected classifications (age, gender …).
    ProtectedClassifications,
    /// Commercial information: purchases, orders.
    Commercial,
    /// Internet or other electronic network activity.
    InternetActivity,
    /// Geolocation data.
    Geolocation,
    /// Audio, electronic, visual or similar information.
    AudioVisual,
    /// Inferences drawn to create a profile.
    Inferences,
}

impl Category {
    /// Every category, in the chart's order.
    pub const ALL: [Category; 9] = [
        Category::UniqueIdentifiers,
        Category::Contact,
        Category::Financial,
        Category::ProtectedClassifications,
        Category::Commercial,
        Category::InternetActivity,
        Category::Geolocation,
        Category::AudioVisual,
        Category::Inferences,
    ];

    /// The config spelling (`unique_identifiers`, `contact`, …).
    pub fn key(self) -> &'static str {
        match self {
            Category::UniqueIdentifiers => "unique_identifiers",
            Category::Contact => "contact",
            Category::Financial => "financial",
            Category::ProtectedClassifications => "protected_classifications",
            Category::Commercial => "commercial",
            Category::InternetActivity => "internet_activity",
            Category::Geolocation => "geolocation",
            Category::AudioVisual => "audio_visual",
            Category::Inferences => "inferences",
        }
    }

    /// Parses the config spelling.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.key() == s)
    }

    /// Default human label, used when the chart gives none.
    pub fn default_label(self) -> &'static str {
        match self {
            Category::UniqueIdentifiers => "Unique identifiers",
            Category::Contact => "Contact information",
            Category::Financial => "Financial information",
            Category::ProtectedClassifications => "Characteristics of protected classifications",
            Category::Commercial => "Commercial information",
            Category::InternetActivity => "Internet or other electronic network activity",
            Category::Geolocation => "Geolocation data",
            Category::AudioVisual => "Audio, electronic, visual or similar information",
            Category::Inferences => "Inferences",
        }
    }
}

/// A kind of sensitive value that is never disclosed in an access report (11 CCR §7024(d)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitiveKind {
    /// Social Security number.
    Ssn,
    /// Driver's licence number or other government-issued identification number.
    GovernmentId,
    /// Financial account number (bank account, payment card).
    FinancialAccount,
    /// Health-insurance or medical identification number.
    HealthInsuranceId,
    /// Account password.
    AccountPassword,
    /// Security questions and answers.
    SecurityQa,
    /// Unique biometric data.
    Biometric,
}

impl SensitiveKind {
    /// Every kind.
    pub const ALL: [SensitiveKind; 7] = [
        SensitiveKind::Ssn,
        SensitiveKind::GovernmentId,
        SensitiveKind::FinancialAccount,
        SensitiveKind::HealthInsuranceId,
        SensitiveKind::AccountPassword,
        SensitiveKind::SecurityQa,
        SensitiveKind::Biometric,
    ];

    /// The config spelling.
    pub fn key(self) -> &'static str {
        match self {
            SensitiveKind::Ssn => "ssn",
            SensitiveKind::GovernmentId => "government_id",
            SensitiveKind::FinancialAccount => "financial_account",
            SensitiveKind::HealthInsuranceId => "health_insurance_id",
            SensitiveKind::AccountPassword => "account_password",
            SensitiveKind::SecurityQa => "security_qa",
            SensitiveKind::Biometric => "biometric",
        }
    }

    /// Parses the config spelling.
    pub fn parse(s: &str) -> Option<SensitiveKind> {
        SensitiveKind::ALL.into_iter().find(|c| c.key() == s)
    }

    /// Human label used in the withholding notice.
    pub fn label(self) -> &'static str {
        match self {
            SensitiveKind::Ssn => "Social Security number",
            SensitiveKind::GovernmentId => {
                "Driver's licence or other government-issued identification number"
            }
            SensitiveKind::FinancialAccount => "Financial account number",
            SensitiveKind::HealthInsuranceId => "Health-insurance or medical identification number",
            SensitiveKind::AccountPassword => "Account password",
            SensitiveKind::SecurityQa => "Security questions and answers",
            SensitiveKind::Biometric => "Unique biometric data",
        }
    }

    /// The notice that replaces a withheld value in every report format.
    pub fn notice(self) -> String {
        format!(
            "{}: collected; not disclosed (11 CCR §7024(d))",
            self.label()
        )
    }
}
