//! The worker's sense of time: the system clock in service, a simulated one in tests
//! (an hour of schedule time runs in milliseconds: waiting advances the simulated time
//! instead of sleeping).

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Clock {
    System,
    Simulated(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    pub fn simulated(start: DateTime<Utc>) -> Clock {
        Clock::Simulated(Arc::new(Mutex::new(start)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Simulated(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Waits `d`: sleeps on the system clock, advances a simulated one at once.
    pub async fn sleep(&self, d: Duration) {
        match self {
            Clock::System => tokio::time::sleep(d).await,
            Clock::Simulated(t) => {
                let mut now = t.lock().unwrap_or_else(|e| e.into_inner());
                *now += chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero());
            }
        }
    }

    pub fn is_simulated(&self) -> bool {
        matches!(self, Clock::Simulated(_))
    }
}
