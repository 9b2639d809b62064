//! `weir-food`: The food-survey example: a CSV survey to Kafka, read back, counted and charted.

fn main() {
    println!("weir-food: not built yet");
}
