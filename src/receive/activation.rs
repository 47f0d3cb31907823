//! Sockets systemd passed to the service (socket activation). Placeholder until the
//! activation work lands: nothing is ever inherited.

pub use super::socket::Socket;
use crate::policy::Receive;

pub struct Inherited {
    pub socket: Socket,
    pub bound: Receive,
}

#[derive(Debug, thiserror::Error)]
#[error("socket activation: {0}")]
pub struct ActivationError(String);

pub fn inherited() -> Result<Vec<Inherited>, ActivationError> {
    Ok(Vec::new())
}

pub fn take(inherited: &mut Vec<Inherited>, want: &Receive) -> Option<Socket> {
    let i = inherited.iter().position(|x| &x.bound == want)?;
    Some(inherited.remove(i).socket)
}
