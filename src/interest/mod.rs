//! Interest under the negotiated deposit terms (存款优惠协议). See issue 6.
