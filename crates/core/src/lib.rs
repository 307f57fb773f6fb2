//! The shared kernel of GovHall, without IO.
//!
//! It owns what every domain speaks the same way: typed ids, validated values (resident ID
//! number, unified social credit code, mobile number, postal code, money in fen, the unified
//! serial number), the working-day calendar, the clock that tests can set, and the stable error
//! codes with their Chinese messages. Nothing here touches a database, a file or the network.

pub mod calendar;
pub mod clock;
pub mod credit_code;
pub mod email;
pub mod error;
pub mod ids;
pub mod money;
pub mod phone;
pub mod resident_id;
pub mod secret;
pub mod serde_lenient;
pub mod serial_number;
pub mod text;

pub use calendar::{CalendarError, DayKind, WorkingCalendar};
pub use clock::{Clock, ManualClock, SystemClock};
pub use credit_code::CreditCode;
pub use email::EmailAddress;
pub use error::{Coded, ValueError};
pub use money::Money;
pub use phone::{Phone, PostalCode};
pub use resident_id::ResidentId;
pub use secret::Secret;
pub use serial_number::{SerialNumber, SerialPrefix};
