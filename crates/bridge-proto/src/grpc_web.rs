//! gRPC-Web framing of a unary call, for callers that speak only HTTP/1.1 (Spin components).
//!
//! Request body: one frame `0x00 | u32 length (big endian) | message`. Response body: data frames (flag
//! `0x00`) then one trailer frame (flag `0x80`) whose payload is `grpc-status: N\r\ngrpc-message: ...`; a
//! response without a message may carry `grpc-status` in its HTTP headers instead ("trailers-only").

use prost::Message;

use crate::error::{code, BridgeError};

/// Request `content-type`.
pub const CONTENT_TYPE: &str = "application/grpc-web+proto";

/// The request body for `message`.
pub fn encode_request<M: Message>(message: &M) -> Vec<u8> {
    let payload = message.encode_to_vec();
    let mut body = Vec::with_capacity(payload.len() + 5);
    body.push(0);
    body.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    body.extend_from_slice(&payload);
    body
}

/// Decodes a unary response. `http_status` and `header_status` (the `grpc-status` header, if any) come
/// from the HTTP response; `body` is its whole body.
pub fn decode_response<M: Message + Default>(
    http_status: u16,
    header_status: Option<(&str, &str)>,
    body: &[u8],
) -> Result<M, BridgeError> {
    if http_status != 200 {
        return Err(BridgeError::Unavailable(format!("bridge answered HTTP {http_status}")));
    }
    let mut message = None;
    let mut status = header_status.map(|(code, message)| (code.to_owned(), message.to_owned()));
    let mut rest = body;
    while !rest.is_empty() {
        if rest.len() < 5 {
            return Err(BridgeError::Unavailable("truncated gRPC-Web frame".to_owned()));
        }
        let flag = rest[0];
        let length = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let payload =
            rest.get(5..5 + length).ok_or_else(|| BridgeError::Unavailable("truncated gRPC-Web frame".to_owned()))?;
        if flag & 0x80 != 0 {
            status = parse_trailers(payload).or(status);
        } else if message.is_none() {
            message = Some(payload);
        }
        rest = &rest[5 + length..];
    }
    let (code_text, grpc_message) = status.ok_or_else(|| BridgeError::Unavailable("no grpc-status".to_owned()))?;
    let grpc_code: i32 = code_text.trim().parse().unwrap_or(-1);
    if grpc_code != code::OK {
        return Err(BridgeError::from_status(grpc_code, percent_decode(&grpc_message)));
    }
    let payload = message.ok_or_else(|| BridgeError::Unavailable("no message in an OK response".to_owned()))?;
    M::decode(payload).map_err(|error| BridgeError::Unavailable(format!("undecodable response: {error}")))
}

fn parse_trailers(payload: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut code = None;
    let mut message = String::new();
    for line in text.split("\r\n") {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "grpc-status" => code = Some(value.trim().to_owned()),
                "grpc-message" => message = value.trim().to_owned(),
                _ => {}
            }
        }
    }
    code.map(|code| (code, message))
}

/// `grpc-message` is percent-encoded.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let decoded = (bytes[index] == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::v1::CheckStockResponse;

    fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![flag];
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn an_ok_response_decodes_its_message() {
        let reply = CheckStockResponse { available: true, in_stock: 7 };
        let mut body = frame(0, &reply.encode_to_vec());
        body.extend(frame(0x80, b"grpc-status:0\r\ngrpc-message:\r\n"));
        assert_eq!(decode_response::<CheckStockResponse>(200, None, &body), Ok(reply));
    }

    #[test]
    fn error_statuses_map_from_trailers_or_headers() {
        let body = frame(0x80, b"grpc-status: 9\r\ngrpc-message: only%203 left\r\n");
        assert_eq!(
            decode_response::<CheckStockResponse>(200, None, &body),
            Err(BridgeError::InsufficientStock("only 3 left".into()))
        );
        assert_eq!(
            decode_response::<CheckStockResponse>(200, Some(("5", "no such product")), b""),
            Err(BridgeError::NotFound("no such product".into()))
        );
        assert!(matches!(decode_response::<CheckStockResponse>(503, None, b""), Err(BridgeError::Unavailable(_))));
        assert!(matches!(
            decode_response::<CheckStockResponse>(200, None, &[0, 0, 0]),
            Err(BridgeError::Unavailable(_))
        ));
    }

    #[test]
    fn requests_are_length_prefixed() {
        let request = encode_request(&CheckStockResponse { available: true, in_stock: 1 });
        assert_eq!(request[0], 0);
        assert_eq!(u32::from_be_bytes([request[1], request[2], request[3], request[4]]) as usize, request.len() - 5);
    }
}
