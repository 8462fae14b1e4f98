// digestbot sandbox web chat. Plain JS, no build step. Message text is only ever put into the
// page with textContent / createTextNode, never as markup.
"use strict";

const API = "/sandbox/api";
const state = { bot: null, users: [], chats: [], userId: null, chatId: null, unread: {}, inline: null };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text || "";
  status.classList.toggle("error", Boolean(isError));
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(API + path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function looksChinese(text) {
  return /[\u3400-\u9fff]/.test(text || "");
}

// --- Telegram entities to DOM -----------------------------------------------------------

function safeUrl(url) {
  try {
    const parsed = new URL(url, "https://t.me/");
    return ["http:", "https:", "tg:", "mailto:"].includes(parsed.protocol) ? parsed.href : null;
  } catch (_) {
    return null;
  }
}

// t.me/<our bot>?start=<payload>: in the sandbox it opens the bot in the user's private chat.
function deepLinkPayload(url) {
  try {
    const parsed = new URL(url);
    const bot = (state.bot && state.bot.username || "").toLowerCase();
    if (!["t.me", "telegram.me"].includes(parsed.hostname)) return null;
    if (parsed.pathname.replace(/^\//, "").toLowerCase() !== bot) return null;
    return parsed.searchParams.get("start") ?? "";
  } catch (_) {
    return null;
  }
}

function makeLink(href, text) {
  const url = safeUrl(href);
  if (!url) return el("span", {}, text);
  const link = el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text);
  const payload = deepLinkPayload(url);
  if (payload !== null) {
    link.title = "Deep link: opens the bot in your private chat";
    link.addEventListener("click", (event) => {
      event.preventDefault();
      openDeepLink(payload);
    });
  }
  return link;
}

function entityNode(entity, text) {
  switch (entity.type) {
    case "bold": return el("strong");
    case "italic": return el("em");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "code": return el("code");
    case "pre": {
      const pre = el("pre");
      const code = el("code", { "data-language": entity.language || null });
      pre.appendChild(code);
      pre.inner = code;
      return pre;
    }
    case "blockquote": return el("blockquote");
    case "expandable_blockquote": {
      const quote = el("blockquote", { className: "expandable collapsed", tabindex: 0, "aria-expanded": "false" });
      const toggle = () => {
        const open = quote.classList.toggle("collapsed") === false;
        quote.setAttribute("aria-expanded", String(open));
      };
      quote.addEventListener("click", toggle);
      quote.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
      return quote;
    }
    case "spoiler": {
      const span = el("span", { className: "spoiler", tabindex: 0, role: "button", "aria-label": "Spoiler, press to reveal" });
      const reveal = () => { span.classList.add("revealed"); span.removeAttribute("aria-label"); span.removeAttribute("role"); };
      span.addEventListener("click", reveal);
      span.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); reveal(); } });
      return span;
    }
    case "text_link": return makeLink(entity.url, undefined);
    case "url": return makeLink(/^[a-z]+:/i.test(text) ? text : "https://" + text, undefined);
    case "email": return el("a", { href: "mailto:" + text });
    case "bot_command": {
      const span = el("span", { className: "cmd", tabindex: 0, role: "button", title: "Send this command" });
      const send = () => sendText(text);
      span.addEventListener("click", send);
      span.addEventListener("keydown", (e) => { if (e.key === "Enter") send(); });
      return span;
    }
    default: return el("span", { className: "entity-" + entity.type });
  }
}

// Offsets are UTF-16 code units, which is exactly how JavaScript indexes strings.
function renderEntities(container, text, entities) {
  const sorted = [...(entities || [])].sort((a, b) => a.offset - b.offset || b.length - a.length);
  let index = 0;
  function build(parent, start, end) {
    let pos = start;
    while (index < sorted.length && sorted[index].offset < end) {
      const entity = sorted[index++];
      const from = Math.max(entity.offset, pos);
      const to = Math.min(entity.offset + entity.length, end);
      if (to <= from) continue;
      if (from > pos) parent.appendChild(document.createTextNode(text.slice(pos, from)));
      const node = entityNode(entity, text.slice(from, to));
      parent.appendChild(node);
      build(node.inner || node, from, to);
      pos = to;
    }
    if (pos < end) parent.appendChild(document.createTextNode(text.slice(pos, end)));
  }
  build(container, 0, text.length);
}

// --- messages -------------------------------------------------------------------------------

function keyboardNode(message) {
  const rows = message.reply_markup && message.reply_markup.inline_keyboard;
  if (!rows || !rows.length) return null;
  const board = el("div", { className: "keyboard", role: "group", "aria-label": "Message buttons" });
  for (const row of rows) {
    const line = el("div", { className: "kb-row" });
    for (const button of row) line.appendChild(buttonNode(message, button));
    board.appendChild(line);
  }
  return board;
}

function buttonNode(message, button) {
  if (button.url) {
    const link = makeLink(button.url, button.text);
    link.classList.add("kb-btn");
    return link;
  }
  const node = el("button", { type: "button", className: "kb-btn" }, button.text);
  if (button.callback_data !== undefined) {
    node.addEventListener("click", () => press(message, button.callback_data, node));
  } else if (button.switch_inline_query !== undefined || button.switch_inline_query_current_chat !== undefined) {
    const query = button.switch_inline_query ?? button.switch_inline_query_current_chat;
    node.addEventListener("click", () => prefillInline(query));
  } else if (button.switch_inline_query_chosen_chat) {
    node.addEventListener("click", () => prefillInline(button.switch_inline_query_chosen_chat.query || ""));
  } else if (button.copy_text) {
    node.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(button.copy_text.text); setStatus("Copied."); }
      catch (_) { setStatus("Copy failed: " + button.copy_text.text); }
    });
  } else {
    node.disabled = true;
    node.title = "Not supported in the sandbox";
  }
  return node;
}

// --- rich messages (sendRichMessage) to DOM ----------------------------------------------
// The emulator already refused anything outside the allow-list; this rebuilds the tree from
// the same list anyway, so nothing but these elements (and safe links) reaches the page.
const RICH_TAGS = new Set([
  "p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "footer", "hr", "ul", "ol", "li",
  "blockquote", "table", "caption", "tr", "th", "td", "details", "summary", "br",
  "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "sub", "sup", "mark",
]);
const RICH_ATTRS = { th: ["colspan", "rowspan", "align"], td: ["colspan", "rowspan", "align"] };

function richNode(source) {
  if (source.nodeType === Node.TEXT_NODE) return document.createTextNode(source.textContent);
  if (source.nodeType !== Node.ELEMENT_NODE) return null;
  const tag = source.tagName.toLowerCase();
  let node;
  if (tag === "a") {
    node = makeLink(source.getAttribute("href") || "", "");
  } else if (RICH_TAGS.has(tag)) {
    node = document.createElement(tag);
    for (const name of RICH_ATTRS[tag] || []) {
      if (source.hasAttribute(name)) node.setAttribute(name, source.getAttribute(name));
    }
    if (tag === "table" && source.hasAttribute("bordered")) node.className = "bordered";
    if (tag === "details" && source.hasAttribute("open")) node.open = true;
  } else {
    node = document.createElement("span");
  }
  for (const child of source.childNodes) {
    const built = richNode(child);
    if (built) node.appendChild(built);
  }
  return node;
}

function renderRich(container, html) {
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  container.classList.add("rich");
  for (const child of parsed.body.childNodes) {
    const built = richNode(child);
    if (built) container.appendChild(built);
  }
}

function senderName(message) {
  return message.sender ? message.sender.name : "?";
}

function messageNode(message) {
  const mine = !message.from_bot && message.sender && message.sender.id === state.userId;
  if (message.service) {
    const members = message.service.new_chat_members;
    const who = members ? members.map((m) => m.first_name).join(", ") : "";
    const text = members ? `${senderName(message)} added ${who}` : "service message";
    return el("div", { className: "msg service", "data-id": message.message_id }, text);
  }
  const node = el("article", {
    className: "msg" + (mine ? " mine" : ""),
    "data-id": message.message_id,
    "aria-label": (message.from_bot ? "Bot" : senderName(message)) + " message",
  });
  const chat = currentChat();
  if (!mine && (message.from_bot || (chat && chat.type !== "private"))) {
    node.appendChild(el("div", { className: "who" }, senderName(message)));
  }
  if (message.via_bot) node.appendChild(el("div", { className: "who" }, `via @${message.via_bot}`));
  const body = el("div", { className: "body", lang: looksChinese(message.text) ? "zh-Hans" : "en" });
  if (message.rich_html) renderRich(body, message.rich_html);
  else renderEntities(body, message.text || "", message.entities);
  node.appendChild(body);
  const board = keyboardNode(message);
  if (board) node.appendChild(board);
  const time = new Date(message.edit_date || message.date);
  const stamp = time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  node.appendChild(el("div", { className: "meta" }, (message.edit_date ? "edited " : "") + stamp));
  return node;
}

function showMessage(message) {
  const box = $("messages");
  const existing = box.querySelector(`[data-id="${message.message_id}"]`);
  if (message.deleted) {
    if (existing) existing.remove();
    return;
  }
  const node = messageNode(message);
  if (existing) {
    existing.replaceWith(node); // edited in place, like Telegram
  } else {
    box.appendChild(node);
    node.scrollIntoView({ block: "nearest" }); // a new message comes into view from its top
    if (node.offsetHeight > box.clientHeight) node.scrollIntoView({ block: "start" });
  }
}

async function loadMessages() {
  const box = $("messages");
  box.replaceChildren();
  if (state.chatId === null) return;
  const { messages } = await api(`/chats/${state.chatId}/messages`);
  for (const message of messages) showMessage(message);
  box.scrollTop = box.scrollHeight;
}

// --- users and chats ------------------------------------------------------------------------

function currentUser() { return state.users.find((u) => u.id === state.userId) || null; }
function currentChat() { return state.chats.find((c) => c.id === state.chatId) || null; }
function userChats() {
  return state.chats.filter((c) => !c.migrated_to && c.members[String(state.userId)]
    && !["left", "kicked"].includes(c.members[String(state.userId)]));
}

async function refreshState() {
  const data = await api("/state");
  state.bot = data.bot;
  state.users = data.users;
  state.chats = data.chats;
  $("inline-bot").textContent = "@" + state.bot.username;
  if (!currentUser() && state.users.length) state.userId = state.users[0].id;
  renderUsers();
  renderChats();
}

function renderUsers() {
  const select = $("user-select");
  select.replaceChildren();
  for (const user of state.users) {
    const option = el("option", { value: user.id }, `${user.name} (${user.language_code || "?"})`);
    if (looksChinese(user.name)) option.lang = "zh-Hans";
    option.selected = user.id === state.userId;
    select.appendChild(option);
  }
  const members = $("group-members");
  members.replaceChildren();
  for (const user of state.users) {
    const row = el("div", { className: "member-row" });
    const id = `member-${user.id}`;
    const box = el("input", { type: "checkbox", id, value: user.id, name: "member" });
    box.checked = user.id === state.userId;
    const admin = el("input", { type: "checkbox", id: `${id}-admin`, value: user.id, name: "admin" });
    row.append(box, el("label", { for: id }, user.name), admin, el("label", { for: `${id}-admin` }, "admin"));
    members.appendChild(row);
  }
}

function chatLabel(chat) {
  if (chat.type === "private") return `🤖 ${state.bot ? state.bot.first_name : "Bot"} (private)`;
  const role = chat.members[String(state.userId)];
  const isAdmin = role === "administrator" || role === "creator";
  return `👥 ${chat.title}${isAdmin ? " (you: admin)" : ""}`;
}

function renderChats() {
  const list = $("chat-list");
  list.replaceChildren();
  for (const chat of userChats()) {
    const item = el("li");
    const button = el("button", { type: "button", "data-chat": chat.id }, chatLabel(chat));
    if (looksChinese(chat.title)) button.lang = "zh-Hans";
    button.setAttribute("aria-current", String(chat.id === state.chatId));
    const unread = state.unread[chat.id];
    if (unread) button.appendChild(el("span", { className: "badge", "aria-label": `${unread} unread` }, String(unread)));
    button.addEventListener("click", () => selectChat(chat.id));
    item.appendChild(button);
    list.appendChild(item);
  }
  const chat = currentChat();
  $("chat-title").textContent = chat ? chatLabel(chat) : "Chat";
}

async function selectChat(chatId) {
  state.chatId = chatId;
  delete state.unread[chatId];
  renderChats();
  $("inline-results").replaceChildren();
  await loadMessages();
}

async function selectUser(userId) {
  state.userId = userId;
  localStorage.setItem("digestbot-sandbox-user", String(userId));
  renderUsers();
  const chats = userChats();
  const keep = chats.find((c) => c.id === state.chatId);
  await selectChat(keep ? keep.id : (chats.find((c) => c.id === userId) || chats[0] || { id: null }).id);
}

// --- actions --------------------------------------------------------------------------------

async function guarded(action) {
  try {
    await action();
  } catch (error) {
    setStatus(error.message, true);
  }
}

async function sendText(text) {
  if (state.chatId === null || !text.trim()) return;
  await guarded(async () => {
    setStatus("");
    await api(`/chats/${state.chatId}/messages`, { user_id: state.userId, text });
  });
}

async function openDeepLink(payload) {
  await selectChat(state.userId);
  await sendText(payload ? `/start ${payload}` : "/start");
}

async function press(message, data, node) {
  node.disabled = true;
  await guarded(async () => {
    setStatus("…");
    const answer = await api(`/chats/${message.chat_id}/press`, {
      user_id: state.userId, message_id: message.message_id, data,
    });
    setStatus(answer.text ? (answer.show_alert ? "⚠ " : "") + answer.text : "");
  });
  node.disabled = false;
}

function prefillInline(query) {
  const input = $("inline-input");
  input.value = query || "";
  input.focus();
  setStatus("Inline mode: edit the query and press Enter.");
}

async function runInline(query) {
  const list = $("inline-results");
  list.replaceChildren();
  await guarded(async () => {
    setStatus("Searching…");
    const answer = await api("/inline", { user_id: state.userId, chat_id: state.chatId, query });
    state.inline = answer;
    setStatus(`${answer.results.length} inline result(s)`);
    for (const result of answer.results) {
      const item = el("li");
      const button = el("button", { type: "button", lang: looksChinese(result.title) ? "zh-Hans" : "en" });
      button.appendChild(el("strong", {}, result.title || result.id));
      if (result.description) button.appendChild(el("span", { className: "desc" }, result.description));
      button.addEventListener("click", () => chooseInline(answer.query_id, result.id));
      item.appendChild(button);
      list.appendChild(item);
    }
  });
}

async function chooseInline(queryId, resultId) {
  await guarded(async () => {
    await api("/inline/choose", {
      user_id: state.userId, chat_id: state.chatId, query_id: queryId, result_id: resultId,
    });
    $("inline-results").replaceChildren();
    $("inline-input").value = "";
    setStatus("");
  });
}

const DELIVERY_NOTES = {
  planned: "Digest planned through the delivery outbox; it arrives in a moment.",
  already_delivered_today: "This chat already got today's digest (one per chat and local day).",
  not_subscribed: "This chat could not be subscribed (in groups only admins can subscribe).",
};

async function deliverNow() {
  if (state.chatId === null) return;
  const button = $("deliver");
  button.disabled = true;
  await guarded(async () => {
    setStatus("Delivering…");
    const result = await api(`/chats/${state.chatId}/deliver`, { user_id: state.userId });
    setStatus(DELIVERY_NOTES[result.detail] || result.detail || "");
  });
  button.disabled = false;
}

// --- live updates ---------------------------------------------------------------------------

function connectEvents() {
  const source = new EventSource(API + "/events");
  let wasDown = false;
  source.addEventListener("open", () => {
    if (wasDown) guarded(async () => { await refreshState(); await loadMessages(); });
    wasDown = false;
  });
  source.addEventListener("error", () => { wasDown = true; });
  source.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    if (data.kind === "chat" && data.data && !data.data.callback_query) {
      guarded(refreshState);
      return;
    }
    if (!data.message || !["message", "edit", "delete"].includes(data.kind)) return;
    if (data.chat_id === state.chatId) {
      showMessage(data.message);
    } else if (data.kind === "message" && data.message.from_bot) {
      state.unread[data.chat_id] = (state.unread[data.chat_id] || 0) + 1;
      renderChats();
    }
  });
}

// --- wiring ---------------------------------------------------------------------------------

function wire() {
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("composer-input");
    const text = input.value;
    input.value = "";
    await sendText(text);
    input.focus();
  });
  $("inline-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runInline($("inline-input").value);
  });
  $("deliver").addEventListener("click", deliverNow);
  $("user-select").addEventListener("change", (event) => selectUser(Number(event.target.value)));
  $("user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    await guarded(async () => {
      const { user } = await api("/users", {
        first_name: form.first_name.value, language_code: form.language_code.value,
      });
      form.reset();
      $("new-user").open = false;
      await refreshState();
      await selectUser(user.id);
      setStatus(`Created ${user.name}. Say /start to the bot.`);
    });
  });
  $("group-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const picked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => Number(i.value));
    await guarded(async () => {
      const admins = picked("admin");
      const { chat } = await api("/groups", {
        title: form.title.value, members: picked("member"), admins, added_by: state.userId,
      });
      form.reset();
      $("new-group").open = false;
      await refreshState();
      await selectChat(chat.id);
    });
  });
}

async function main() {
  wire();
  await guarded(async () => {
    await refreshState();
    const saved = Number(localStorage.getItem("digestbot-sandbox-user"));
    const user = state.users.find((u) => u.id === saved) || state.users[0];
    if (user) await selectUser(user.id);
  });
  connectEvents();
  document.body.dataset.ready = "true";
}

main();
