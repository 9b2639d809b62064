//! The survey's rows: [`SurveyRow`] (the eight CSV columns as text, what `produce` sends as a
//! JSON object), [`Answer`] (a row whose `Age` reads as a number, what `consume` counts) and
//! [`AnswerSerde`], the consumer's value serde that converts `Age` and rejects a row it cannot
//! convert, so that the application's dead-letter handler takes it.

use serde::{Deserialize, Serialize};
use weir::topology::{Serde, SerdeError};

/// The survey's columns, in the file's order.
pub const COLUMNS: [&str; 8] = [
    "Timestamp",
    "Participant_ID",
    "Gender",
    "Nationality",
    "Age",
    "Food",
    "Juice",
    "Dessert",
];

/// The label of a blank gender or nationality in the counts and charts.
pub const BLANK: &str = "(blank)";

/// The oldest age the consumer accepts; a larger (or negative) number is not an age.
pub const MAX_AGE: f64 = 150.0;

/// One survey row, every column as the text the file holds (blank fields are empty strings).
/// Serialized, it is a JSON object from column name to text, in the file's column order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyRow {
    /// When the answer was given, e.g. `2019/05/07 2:59:13 PM GMT+8`.
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
    /// The participant, e.g. `FPS001`.
    #[serde(rename = "Participant_ID")]
    pub participant_id: String,
    /// `Male` or `Female`.
    #[serde(rename = "Gender")]
    pub gender: String,
    /// As the participant wrote it: `Indian`, `indian`, `India`...
    #[serde(rename = "Nationality")]
    pub nationality: String,
    /// The age, as text.
    #[serde(rename = "Age")]
    pub age: String,
    /// `Traditional food` or `Western Food`.
    #[serde(rename = "Food")]
    pub food: String,
    /// `Fresh Juice` or `Carbonated drinks`.
    #[serde(rename = "Juice")]
    pub juice: String,
    /// `Yes`, `No` or `Maybe`.
    #[serde(rename = "Dessert")]
    pub dessert: String,
}

/// A survey row whose age reads as a number: what the consumer counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The row as received.
    pub row: SurveyRow,
    /// `Age` as a number of years.
    pub age: f64,
}

impl Answer {
    /// The row with its age converted, or why it cannot be.
    pub fn from_row(row: SurveyRow) -> Result<Self, String> {
        let age = parse_age(&row.age)?;
        Ok(Self { row, age })
    }

    /// The gender as counted: the text as answered, [`BLANK`] when blank.
    pub fn gender(&self) -> String {
        gender_label(&self.row.gender)
    }

    /// The nationality as counted: see [`normalise_nationality`].
    pub fn nationality(&self) -> String {
        normalise_nationality(&self.row.nationality)
    }
}

/// `Age` as a number: the trimmed text must read as a finite number from 0 to [`MAX_AGE`].
pub fn parse_age(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("Age is blank".into());
    }
    let age: f64 = trimmed
        .parse()
        .map_err(|_| format!("Age {text:?} is not a number"))?;
    if !age.is_finite() || !(0.0..=MAX_AGE).contains(&age) {
        return Err(format!("Age {text:?} is not an age"));
    }
    Ok(age)
}

/// A gender as counted: as answered, or [`BLANK`] when blank.
pub fn gender_label(gender: &str) -> String {
    if gender.trim().is_empty() {
        BLANK.into()
    } else {
        gender.to_string()
    }
}

/// A nationality with its case normalised: each word capitalised, the rest lower case, words
/// separated by one space (`indian`, `INDIAN` and ` Indian ` all count as `Indian`); [`BLANK`]
/// when blank. Only the case and spacing change: `India` stays apart from `Indian`, as the
/// participants answered.
pub fn normalise_nationality(text: &str) -> String {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect();
    if words.is_empty() {
        BLANK.into()
    } else {
        words.join(" ")
    }
}

/// The consumer's value serde: a JSON object of the eight columns (all text) whose `Age`
/// converts ([`parse_age`]). A record that is not such an object, lacks a column, or has an
/// unusable age fails to decode, so the application's error handler takes it (the dead-letter
/// topic, counted as skipped). Serializing writes the row back as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnswerSerde;

impl Serde<Answer> for AnswerSerde {
    fn serialize(&self, value: &Answer) -> Result<Vec<u8>, SerdeError> {
        serde_json::to_vec(&value.row).map_err(|e| SerdeError::new("survey answer", e))
    }

    fn deserialize(&self, bytes: &[u8]) -> Result<Answer, SerdeError> {
        let row: SurveyRow =
            serde_json::from_slice(bytes).map_err(|e| SerdeError::new("survey answer", e))?;
        Answer::from_row(row).map_err(|e| SerdeError::new("survey answer", e))
    }

    fn name(&self) -> &'static str {
        "survey answer"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(age: &str) -> SurveyRow {
        SurveyRow {
            timestamp: "2019/05/07 2:59:13 PM GMT+8".into(),
            participant_id: "FPS001".into(),
            gender: "Male".into(),
            nationality: "indian".into(),
            age: age.into(),
            food: "Traditional food".into(),
            juice: "Fresh Juice".into(),
            dessert: "Maybe".into(),
        }
    }

    #[test]
    fn ages_convert_and_unusable_ones_say_why() {
        assert_eq!(parse_age("24"), Ok(24.0));
        assert_eq!(parse_age(" 31 "), Ok(31.0));
        assert_eq!(parse_age("22.5"), Ok(22.5));
        assert_eq!(parse_age(""), Err("Age is blank".to_string()));
        assert_eq!(parse_age("  "), Err("Age is blank".to_string()));
        assert!(parse_age("twenty").unwrap_err().contains("not a number"));
        assert!(parse_age("NaN").unwrap_err().contains("not an age"));
        assert!(parse_age("-4").unwrap_err().contains("not an age"));
        assert!(parse_age("400").unwrap_err().contains("not an age"));
    }

    #[test]
    fn nationalities_differ_only_by_case_and_spacing_once_normalised() {
        for text in ["indian", "INDIAN", " Indian ", "iNdIaN"] {
            assert_eq!(normalise_nationality(text), "Indian");
        }
        assert_eq!(normalise_nationality("india"), "India");
        assert_eq!(normalise_nationality("sri  LANKAN"), "Sri Lankan");
        assert_eq!(normalise_nationality(""), BLANK);
        assert_eq!(normalise_nationality("   "), BLANK);
        assert_eq!(gender_label(""), BLANK);
        assert_eq!(gender_label("Female"), "Female");
    }

    #[test]
    fn rows_are_json_objects_of_text_in_column_order() {
        let json = serde_json::to_string(&row("24")).unwrap();
        let mut at = 0;
        for column in COLUMNS {
            let found = json[at..].find(&format!("\"{column}\":\"")).unwrap();
            at += found;
        }
        assert!(json.contains("\"Age\":\"24\""));
    }

    #[test]
    fn the_serde_converts_the_age_and_rejects_what_it_cannot_count() {
        let bytes = serde_json::to_vec(&row("24")).unwrap();
        let answer = AnswerSerde.deserialize(&bytes).unwrap();
        assert_eq!(answer.age, 24.0);
        assert_eq!(answer.nationality(), "Indian");
        assert_eq!(AnswerSerde.serialize(&answer).unwrap(), bytes);
        let blank = serde_json::to_vec(&row("")).unwrap();
        assert!(AnswerSerde
            .deserialize(&blank)
            .unwrap_err()
            .to_string()
            .contains("blank"));
        let mut missing: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        missing.as_object_mut().unwrap().remove("Dessert");
        let missing = serde_json::to_vec(&missing).unwrap();
        assert!(AnswerSerde
            .deserialize(&missing)
            .unwrap_err()
            .to_string()
            .contains("Dessert"));
        assert!(AnswerSerde.deserialize(b"not json").is_err());
    }
}
