//! Testing without a broker: the topology test driver and a mock processor context.

mod driver;
mod mock;

pub use driver::{DriverConfig, TestInputTopic, TestOutputTopic, TopologyTestDriver};
pub use mock::{Forwarded, MockProcessorContext, Scheduled};
