//! `weir-shoppers`: The shoppers example: shoppers per second by gender, live in the browser.

fn main() {
    println!("weir-shoppers: not built yet");
}
