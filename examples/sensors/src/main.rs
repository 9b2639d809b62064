//! `weir-sensors`: The room-sensor example: sensor averages per batch, since start and over sliding windows, and gap counts.

fn main() {
    println!("weir-sensors: not built yet");
}
