//! Testing without a broker: the topology test driver and a mock processor context.

mod driver;
mod mock;
mod topics;

pub use driver::{DriverConfig, TopologyTestDriver};
pub use mock::{Forwarded, MockProcessorContext, Scheduled};
pub use topics::{TestInputTopic, TestOutputTopic};
