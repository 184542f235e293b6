//! The Spin entry point every component declares with [`spin_component!`](crate::spin_component).

/// Declares the Spin HTTP entry point (wasm32 only) of a service type that implements
/// [`Component`](crate::Component). The service is built per request, as Spin instantiates a component per
/// request.
#[macro_export]
macro_rules! spin_component {
    ($service:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[::spin_sdk::http_component]
        async fn spin_entry(incoming: ::spin_sdk::http::IncomingRequest, out: ::spin_sdk::http::ResponseOutparam) {
            let response = match $crate::spin_host::prepare(incoming).await {
                Ok((request, ctx)) => {
                    let span = $crate::log::request_span(env!("CARGO_PKG_NAME"), &request);
                    let serve = async move {
                        match <$service as $crate::Component>::new(&ctx) {
                            Ok(service) => $crate::Component::handle(&service, request).await,
                            Err(error) => $crate::spin_host::misconfigured(&error),
                        }
                    };
                    $crate::tracing::Instrument::instrument(serve, span).await
                }
                Err(response) => response,
            };
            $crate::spin_host::respond(out, response).await
        }
    };
}
