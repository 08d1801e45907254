//! The REST API: the router, token check and injected faults, application commands, and the
//! HTTP plumbing (replies, Discord's error bodies, multipart bodies).

use super::*;

impl Sim {
    // ---- REST --------------------------------------------------------------------------------

    /// Records the call, checks the token and any 429 a test asked for.
    pub(super) fn begin(
        &mut self,
        method: &Method,
        path: &str,
        auth: Option<&str>,
    ) -> Result<(), ApiErr> {
        self.calls
            .push((method.to_string(), path.to_string(), Instant::now()));
        let token_in_path = path.starts_with("/interactions/") || path.starts_with("/webhooks/");
        let open = token_in_path || (path == "/gateway" && method == Method::GET);
        match auth {
            Some(value) if value != format!("Bot {TOKEN}") => return Err(ApiErr::unauthorized()),
            None if !open => return Err(ApiErr::unauthorized()),
            _ => {}
        }
        let user = self.caller(path);
        let failing = self.failures.iter().position(|f| {
            f.method == method.as_str()
                && path.starts_with(f.prefix.as_str())
                && (f.user.is_none() || f.user == user)
        });
        match failing
            .and_then(|i| self.failures.remove(i))
            .map(|f| f.failure)
        {
            Some(Failure::RateLimited(seconds)) => Err(ApiErr::rate_limited(seconds)),
            Some(Failure::Error(status, code, message)) => Err(ApiErr::new(status, code, &message)),
            None => Ok(()),
        }
    }

    /// The member whose interaction a callback or webhook call answers.
    pub(super) fn caller(&self, path: &str) -> Option<u64> {
        let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let id = match seg.as_slice() {
            ["interactions", id, ..] => parse_id(id)?,
            ["webhooks", _, token, ..] => *self.tokens.get(*token)?,
            _ => return None,
        };
        self.interactions.get(&id).map(|ix| ix.user.id)
    }

    pub(super) fn route(
        &mut self,
        method: &Method,
        path: &str,
        query: &str,
        body: &Body,
    ) -> Result<Reply, ApiErr> {
        let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let m = method.as_str();
        match (m, seg.as_slice()) {
            ("GET", ["gateway"]) => Ok(Reply::json(json!({"url": self.ws_url}))),
            ("GET", ["gateway", "bot"]) => Ok(Reply::json(json!({
                "url": self.ws_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.gw.identifies.min(1000),
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }))),
            ("GET", ["users", "@me"]) => Ok(Reply::json(current_user_json())),
            ("POST", ["users", "@me", "channels"]) => self.open_dm(body),
            ("GET", ["oauth2", "applications", "@me"]) => Ok(Reply::json(self.application_json())),
            (_, ["applications", app, rest @ ..]) => {
                if *app != APP_ID.to_string() {
                    return Err(ApiErr::new(403, 50001, "Missing Access"));
                }
                match rest {
                    ["commands"] => self.commands_route(m, None, body),
                    ["commands", id] => self.command_route(m, None, id, body),
                    ["guilds", guild, "commands"] => {
                        let guild = self.guild_id(guild)?;
                        self.commands_route(m, Some(guild), body)
                    }
                    ["guilds", guild, "commands", id] => {
                        let guild = self.guild_id(guild)?;
                        self.command_route(m, Some(guild), id, body)
                    }
                    _ => Err(ApiErr::not_found()),
                }
            }
            ("POST", ["interactions", id, token, "callback"]) => {
                self.callback(id, token, query, body)
            }
            (_, ["interactions", _, _, "callback"]) => Err(ApiErr::method_not_allowed()),
            ("POST", ["webhooks", app, token]) => {
                let ix = self.webhook(app, token)?;
                self.followup(ix, body)
            }
            (_, ["webhooks", app, token, "messages", target]) => {
                let ix = self.webhook(app, token)?;
                self.webhook_message(m, ix, target, body)
            }
            ("GET", ["channels", channel]) => {
                let channel = self.channel_id(channel)?;
                Ok(Reply::json(self.channel_json(channel)))
            }
            (_, ["channels", channel, "messages"]) => {
                let channel = self.channel_id(channel)?;
                match m {
                    "POST" => self.post_channel_message(channel, body),
                    "GET" => Ok(self.list_messages(channel, query)),
                    _ => Err(ApiErr::method_not_allowed()),
                }
            }
            (_, ["channels", channel, "messages", message]) => {
                let channel = self.channel_id(channel)?;
                self.channel_message(m, channel, message, body)
            }
            ("GET", ["guilds", guild]) => {
                let guild = self.guild_id(guild)?;
                Ok(Reply::json(self.guild_json(guild, false)))
            }
            ("GET", ["guilds", guild, "roles"]) => {
                let guild = self.guild_id(guild)?;
                Ok(Reply::json(self.guild_json(guild, false)["roles"].clone()))
            }
            ("GET", ["guilds", guild, "channels"]) => {
                let guild = self.guild_id(guild)?;
                let channels = self.guilds[&guild]
                    .channels
                    .iter()
                    .map(|c| self.channel_json(*c))
                    .collect();
                Ok(Reply::json(Value::Array(channels)))
            }
            ("GET", ["guilds", guild, "members", user]) => {
                let guild = self.guild_id(guild)?;
                let user = parse_id(user).ok_or_else(|| ApiErr::new(404, 10013, "Unknown User"))?;
                if user == BOT_ID {
                    return Ok(Reply::json(bot_member_json()));
                }
                self.guilds[&guild]
                    .members
                    .get(&user)
                    .map(|u| Reply::json(member_json(u, None)))
                    .ok_or_else(|| ApiErr::new(404, 10007, "Unknown Member"))
            }
            _ => Err(ApiErr::not_found()),
        }
    }

    pub(super) fn guild_id(&self, segment: &str) -> Result<u64, ApiErr> {
        parse_id(segment)
            .filter(|g| self.guilds.contains_key(g))
            .ok_or_else(|| ApiErr::new(404, 10004, "Unknown Guild"))
    }

    pub(super) fn channel_id(&self, segment: &str) -> Result<u64, ApiErr> {
        parse_id(segment)
            .filter(|c| self.channels.contains_key(c))
            .ok_or_else(|| ApiErr::new(404, 10003, "Unknown Channel"))
    }

    pub(super) fn application_json(&self) -> Value {
        json!({
            "id": APP_ID.to_string(),
            "name": "Canvass",
            "icon": null,
            "description": "",
            "summary": "",
            "type": null,
            "bot": current_user_json(),
            "bot_public": true,
            "bot_require_code_grant": false,
            "verify_key": "0".repeat(64),
            "flags": 0,
            "hook": true,
            "is_monetized": false,
            "team": null,
            "owner": {
                "id": OWNER_ID.to_string(),
                "username": "owner",
                "discriminator": "0",
                "global_name": "Owner",
                "avatar": null,
                "public_flags": 0,
                "flags": 0,
            },
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": null,
            "role_connections_verification_url": null,
            "tags": [],
            "integration_types_config": {"0": {}},
            "approximate_guild_count": self.guilds.len(),
            "approximate_user_install_count": 0,
        })
    }

    pub(super) fn open_dm(&mut self, body: &Body) -> Result<Reply, ApiErr> {
        let Some(user_id) = id_of(&body.json["recipient_id"]) else {
            return Err(ApiErr::form(
                "recipient_id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        let user = self
            .guilds
            .values()
            .find_map(|g| g.members.get(&user_id).cloned())
            .ok_or_else(|| ApiErr::new(400, 50007, "Cannot send messages to this user"))?;
        let id = self.dm_channel(&user);
        Ok(Reply::json(self.channel_json(id)))
    }

    // ---- commands ------------------------------------------------------------------------------

    pub(super) fn commands_route(
        &mut self,
        method: &str,
        guild: Option<u64>,
        body: &Body,
    ) -> Result<Reply, ApiErr> {
        match method {
            "GET" => Ok(Reply::json(Value::Array(
                self.commands.get(&guild).cloned().unwrap_or_default(),
            ))),
            "PUT" => {
                let Some(list) = body.json.as_array() else {
                    return Err(ApiErr::form(
                        "",
                        "LIST_TYPE_CONVERT",
                        "Only lists are allowed",
                    ));
                };
                if list.len() > 100 {
                    return Err(ApiErr::form(
                        "",
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 100 or fewer in length.",
                    ));
                }
                let mut seen = HashSet::new();
                let mut stored = Vec::new();
                for (i, command) in list.iter().enumerate() {
                    check_command(command, &i.to_string())?;
                    let key = format!("{}:{}", command_type(command), command["name"]);
                    if !seen.insert(key) {
                        return Err(ApiErr::form(
                            &i.to_string(),
                            "APPLICATION_COMMANDS_DUPLICATE_NAME",
                            "Application command names must be unique",
                        ));
                    }
                    stored.push(self.store_command(guild, command));
                }
                self.commands.insert(guild, stored.clone());
                Ok(Reply::json(Value::Array(stored)))
            }
            "POST" => {
                check_command(&body.json, "")?;
                let command = self.store_command(guild, &body.json);
                let list = self.commands.entry(guild).or_default();
                let existing = list
                    .iter()
                    .position(|c| c["name"] == command["name"] && c["type"] == command["type"]);
                let status = match existing {
                    Some(i) => {
                        list[i] = command.clone();
                        200
                    }
                    None => {
                        list.push(command.clone());
                        201
                    }
                };
                Ok(Reply::Json(status, command))
            }
            _ => Err(ApiErr::method_not_allowed()),
        }
    }

    pub(super) fn command_route(
        &mut self,
        method: &str,
        guild: Option<u64>,
        id: &str,
        body: &Body,
    ) -> Result<Reply, ApiErr> {
        let unknown = || ApiErr::new(404, 10063, "Unknown application command");
        let list = self.commands.entry(guild).or_default();
        let i = list
            .iter()
            .position(|c| c["id"] == id)
            .ok_or_else(unknown)?;
        match method {
            "GET" => Ok(Reply::json(list[i].clone())),
            "DELETE" => {
                list.remove(i);
                Ok(Reply::NoContent)
            }
            "PATCH" => {
                let mut updated = list[i].clone();
                merge(&mut updated, body.json.clone());
                check_command(&updated, "")?;
                let updated = self.store_command(guild, &updated);
                let list = self.commands.entry(guild).or_default();
                list[i] = updated.clone();
                Ok(Reply::json(updated))
            }
            _ => Err(ApiErr::method_not_allowed()),
        }
    }

    /// The stored form of a command: what was sent, with Discord's fields filled in. A command
    /// with the same name and type as a registered one keeps its id.
    pub(super) fn store_command(&mut self, guild: Option<u64>, command: &Value) -> Value {
        let kind = command_type(command);
        let existing = self
            .commands
            .get(&guild)
            .into_iter()
            .flatten()
            .find(|c| c["name"] == command["name"] && c["type"] == kind)
            .and_then(|c| c["id"].as_str().map(str::to_string));
        let id = existing.unwrap_or_else(|| self.snowflake().to_string());
        let version = self.snowflake().to_string();
        let mut stored = json!({
            "id": id,
            "application_id": APP_ID.to_string(),
            "version": version,
            "type": kind,
            "name": command["name"],
            "name_localizations": command.get("name_localizations").cloned().unwrap_or(Value::Null),
            "description": command.get("description").cloned().unwrap_or(json!("")),
            "description_localizations": command
                .get("description_localizations")
                .cloned()
                .unwrap_or(Value::Null),
            "options": command.get("options").cloned().unwrap_or(json!([])),
            "default_member_permissions": command
                .get("default_member_permissions")
                .cloned()
                .unwrap_or(Value::Null),
            "nsfw": command.get("nsfw").cloned().unwrap_or(json!(false)),
            "integration_types": command.get("integration_types").cloned().unwrap_or(json!([0])),
            "contexts": command.get("contexts").cloned().unwrap_or(Value::Null),
        });
        match guild {
            Some(g) => stored["guild_id"] = json!(g.to_string()),
            None => {
                stored["dm_permission"] =
                    command.get("dm_permission").cloned().unwrap_or(json!(true));
            }
        }
        stored
    }
}

// ---- HTTP --------------------------------------------------------------------------------------

pub(super) enum Reply {
    Json(u16, Value),
    NoContent,
}

impl Reply {
    pub(super) fn json(value: Value) -> Self {
        Reply::Json(200, value)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> HttpResponse {
        match self {
            Reply::Json(status, body) => json_response(status, &body, &[]),
            Reply::NoContent => StatusCode::NO_CONTENT.into_response(),
        }
    }
}

/// A Discord error answer: `{"message", "code", "errors"?}` (or the 429 body) plus headers.
pub(super) struct ApiErr {
    pub(super) status: u16,
    pub(super) body: Value,
    pub(super) headers: Vec<(&'static str, String)>,
}

impl ApiErr {
    pub(super) fn new(status: u16, code: u64, message: &str) -> Self {
        ApiErr {
            status,
            body: json!({"message": message, "code": code}),
            headers: Vec::new(),
        }
    }

    pub(super) fn unauthorized() -> Self {
        ApiErr::new(401, 0, "401: Unauthorized")
    }

    pub(super) fn not_found() -> Self {
        ApiErr::new(404, 0, "404: Not Found")
    }

    pub(super) fn method_not_allowed() -> Self {
        ApiErr::new(405, 0, "405: Method Not Allowed")
    }

    pub(super) fn unknown_interaction() -> Self {
        ApiErr::new(404, 10062, "Unknown interaction")
    }

    pub(super) fn unknown_message() -> Self {
        ApiErr::new(404, 10008, "Unknown Message")
    }

    /// 400 Invalid Form Body with one error at a dotted path ("" for the body itself).
    pub(super) fn form(path: &str, code: &str, message: &str) -> Self {
        let mut errors = json!({"_errors": [{"code": code, "message": message}]});
        for key in path.split('.').filter(|k| !k.is_empty()).rev() {
            errors = json!({ key: errors });
        }
        ApiErr {
            status: 400,
            body: json!({"message": "Invalid Form Body", "code": 50035, "errors": errors}),
            headers: Vec::new(),
        }
    }

    /// Discord's per-route ("user" scope) 429, as its rate limit documentation shows it.
    pub(super) fn rate_limited(seconds: f64) -> Self {
        let reset = now_ms() as f64 / 1000.0 + seconds;
        ApiErr {
            status: 429,
            body: json!({"message": "You are being rate limited.", "retry_after": seconds, "global": false}),
            headers: vec![
                ("retry-after", format!("{}", seconds.ceil() as u64)),
                ("x-ratelimit-limit", "5".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", format!("{reset:.3}")),
                ("x-ratelimit-reset-after", format!("{seconds:.3}")),
                (
                    "x-ratelimit-bucket",
                    "fa6c1b9b8e4a4f1c9d2e7b3a5c6d8e0f".into(),
                ),
                ("x-ratelimit-scope", "user".into()),
            ],
        }
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> HttpResponse {
        json_response(self.status, &self.body, &self.headers)
    }
}

pub(super) fn json_response(
    status: u16,
    body: &Value,
    headers: &[(&'static str, String)],
) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

/// One REST call: everything under `/api/v10`.
pub(super) async fn rest(State(shared): State<Arc<Shared>>, request: Request) -> HttpResponse {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let auth = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(api_path) = path.strip_prefix("/api/v10") else {
        return ApiErr::not_found().into_response();
    };
    let api_path = api_path.to_string();
    let reset = shared.with(|s| {
        let i = s
            .resets
            .iter()
            .position(|(m, p, _)| m == method.as_str() && api_path.starts_with(p.as_str()))?;
        s.resets.remove(i).map(|(_, _, after)| after)
    });
    if reset == Some(false) {
        shared.with(|s| {
            s.calls
                .push((method.to_string(), api_path.clone(), Instant::now()))
        });
        return broken_connection();
    }
    let outcome = match shared.with(|s| s.begin(&method, &api_path, auth.as_deref())) {
        Err(e) => Err(e),
        Ok(()) => match Body::read(request).await {
            Err(e) => Err(e),
            Ok(body) => shared.with(|s| s.route(&method, &api_path, &query, &body)),
        },
    };
    if reset == Some(true) {
        return broken_connection();
    }
    if outcome.is_ok() {
        let after = shared.with(|s| {
            let i = s
                .after_failures
                .iter()
                .position(|(m, p, _)| m == method.as_str() && api_path.starts_with(p.as_str()))?;
            s.after_failures.remove(i).map(|(_, _, status)| status)
        });
        if let Some(status) = after {
            return ApiErr::new(status, 0, "injected failure after the call was carried out")
                .into_response();
        }
    }
    match outcome {
        Ok(reply) => reply.into_response(),
        Err(e) => {
            shared.with(|s| {
                s.errors
                    .push(format!("{method} {api_path} -> {} {}", e.status, e.body))
            });
            e.into_response()
        }
    }
}

/// An answer whose body fails mid-way: the connection drops and the client sees a transport
/// error, as with a connection reset.
pub(super) fn broken_connection() -> HttpResponse {
    let body = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected connection reset",
        ))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

/// A file part of a multipart request.
pub(super) struct Part {
    pub(super) name: String,
    pub(super) filename: String,
    pub(super) content_type: Option<String>,
    pub(super) bytes: Vec<u8>,
}

/// A request body: JSON (`Null` when empty), or multipart with `payload_json` and files.
pub(super) struct Body {
    pub(super) json: Value,
    pub(super) files: Vec<Part>,
}

impl Body {
    pub(super) async fn read(request: Request) -> Result<Body, ApiErr> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if multipart {
            return Body::read_multipart(request).await;
        }
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY)
            .await
            .map_err(|_| ApiErr::new(413, 40005, "Request entity too large"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body {
                json: Value::Null,
                files: Vec::new(),
            });
        }
        let json = serde_json::from_slice(&bytes)
            .map_err(|_| ApiErr::new(400, 50109, "The request body contains invalid JSON."))?;
        Ok(Body {
            json,
            files: Vec::new(),
        })
    }

    pub(super) async fn read_multipart(request: Request) -> Result<Body, ApiErr> {
        let broken = |_| ApiErr::new(400, 50035, "Invalid Form Body");
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|_| ApiErr::new(400, 50035, "Invalid Form Body"))?;
        let mut fields = Map::new();
        let mut json = None;
        let mut files = Vec::new();
        while let Some(part) = form.next_field().await.map_err(broken)? {
            let name = part.name().unwrap_or_default().to_string();
            let filename = part.file_name().map(str::to_string);
            let content_type = part.content_type().map(str::to_string);
            let bytes = part.bytes().await.map_err(broken)?;
            match filename {
                Some(filename) => files.push(Part {
                    name,
                    filename,
                    content_type,
                    bytes: bytes.to_vec(),
                }),
                None if name == "payload_json" => {
                    json = Some(serde_json::from_slice::<Value>(&bytes).map_err(|_| {
                        ApiErr::new(400, 50109, "The request body contains invalid JSON.")
                    })?);
                }
                None => {
                    fields.insert(
                        name,
                        Value::String(String::from_utf8_lossy(&bytes).into_owned()),
                    );
                }
            }
        }
        let json = match json {
            Some(mut json) => {
                merge(&mut json, Value::Object(fields));
                json
            }
            None => Value::Object(fields),
        };
        Ok(Body { json, files })
    }
}
