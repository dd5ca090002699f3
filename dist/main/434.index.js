export const id = 434;
export const ids = [434,265];
export const modules = {

/***/ 1434:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   OctokitIssues: () => (/* binding */ OctokitIssues)
/* harmony export */ });
/* harmony import */ var node_timers_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(8500);
/* harmony import */ var node_timers_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_timers_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _octokit_core__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(2012);
/* harmony import */ var _octokit_plugin_retry__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(9735);
/* harmony import */ var _octokit_plugin_throttling__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(6856);
/* harmony import */ var _octokit_request_error__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(1015);
/* harmony import */ var bottleneck_light_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3251);
/* harmony import */ var bottleneck_light_js__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(bottleneck_light_js__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _util_errors_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(17);
/* harmony import */ var _util_proxy_fetch_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(3265);
/* harmony import */ var _client_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(4332);
/**
 * The GitHubIssues port over GitHub's REST API with Octokit: @octokit/core (the client @actions/github
 * wraps, used directly so the core imports no @actions/* and the CLI shares it) with plugin-retry (5xx and
 * network errors, backoff) and plugin-throttling (rate limits, waiting as long as Retry-After asks).
 * GITHUB_API_URL makes it work with GitHub Enterprise Server; the token needs `issues: write`.
 *
 * One rule on top of the plugins: a POST that may have been carried out is never sent again blindly.
 * Only failures that prove it was not (a rate limit, a refused connection) are retried as such; after a
 * 5xx, a reset or a timeout we look for its effect (the issue, the comment) before posting again.
 */









/** The first backoff; plugin-retry waits base × n² before retry n (0.25 s, 1 s, 2.25 s). */
const BACKOFF_BASE_MS = 250;
const MAX_PAGES = 10;
/**
 * One call's attempts, kept across the plugins' retries. A class instance, not a plain object: Octokit
 * deep-copies plain objects in request options, and this one must stay the same for the whole call.
 */
class CallState {
    attempt = 0;
    lastError = '';
    /** Set when a rate limit asked for a longer wait than we allow. */
    refusedWaitS;
}
const stateOf = (o) => o.request?.call ?? new CallState();
const what = (method, url) => `${method} ${url.replace(/^https?:\/\/[^/]+/, '').replace(/\?.*$/, '')}`;
function attemptHooks(octokit, options) {
    const { total, onRetry } = options.attempts ?? { total: 1, onRetry: () => { } };
    octokit.hook.before('request', (o) => {
        const s = stateOf(o);
        s.attempt += 1;
        if (s.attempt > 1)
            onRetry(`${s.lastError}; retrying (attempt ${s.attempt} of ${total})`);
    });
    octokit.hook.error('request', (error, o) => {
        stateOf(o).lastError = describeRequestError(error, what(o.method, expand(o.url, o)));
        // plugin-retry reads the retries left from the request options.
        if (o.method === 'POST' && !(0,_client_js__WEBPACK_IMPORTED_MODULE_4__/* .provablyNotDone */ .PS)(error))
            o.request.retries = 0;
        throw error;
    });
    return {};
}
function serviceMessage(data) {
    if (typeof data === 'string')
        return data.slice(0, 200).trim();
    const j = data;
    if (typeof j?.message !== 'string')
        return '';
    const extra = (j.errors ?? []).map((e) => e.message ?? e.code).filter(Boolean);
    return extra.length ? `${j.message} (${extra.join('; ')})` : j.message;
}
function describeRequestError(error, label) {
    if (error instanceof _octokit_request_error__WEBPACK_IMPORTED_MODULE_5__/* .RequestError */ .G && error.response) {
        const msg = serviceMessage(error.response.data);
        return `${label} answered ${error.status}${msg ? `: ${msg}` : ''}`;
    }
    // Octokit wraps a failed fetch in a RequestError whose cause is fetch's own error (and its cause).
    return `${label} failed: ${(0,_util_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .describeError */ .Uc)(error instanceof _octokit_request_error__WEBPACK_IMPORTED_MODULE_5__/* .RequestError */ .G && error.cause ? error.cause : error)}`;
}
/** The plugins' error as ours: the service's message, how many attempts it took; never headers or query. */
function toHttpError(error, method, url, s) {
    let message = describeRequestError(error, what(method, url));
    if (s.refusedWaitS !== undefined)
        message += ` (asked to retry after ${s.refusedWaitS}s: giving up)`;
    else if (s.attempt > 1)
        message += ` (gave up after ${s.attempt} attempts)`;
    if (error instanceof _octokit_request_error__WEBPACK_IMPORTED_MODULE_5__/* .RequestError */ .G && error.response) {
        return new _client_js__WEBPACK_IMPORTED_MODULE_4__/* .HttpError */ .j$(message, error.status, serviceMessage(error.response.data));
    }
    return new _client_js__WEBPACK_IMPORTED_MODULE_4__/* .HttpError */ .j$(message, null, '', { cause: error instanceof _octokit_request_error__WEBPACK_IMPORTED_MODULE_5__/* .RequestError */ .G ? error.cause : error });
}
const GitHubOctokit = _octokit_core__WEBPACK_IMPORTED_MODULE_6__/* .Octokit */ .E.plugin(attemptHooks, _octokit_plugin_retry__WEBPACK_IMPORTED_MODULE_7__/* .retry */ .L, _octokit_plugin_throttling__WEBPACK_IMPORTED_MODULE_8__/* .throttling */ .A);
function toIssue(r) {
    return {
        number: r.number,
        title: r.title,
        body: r.body ?? '',
        state: r.state === 'closed' ? 'closed' : 'open',
        labels: (r.labels ?? []).map((l) => (typeof l === 'string' ? l : (l.name ?? ''))),
        assignees: (r.assignees ?? []).map((a) => a.login),
        url: r.html_url,
    };
}
class OctokitIssues {
    octokit;
    attempts;
    waitScale;
    onRetry;
    constructor(o) {
        this.attempts = o.attempts ?? 4;
        this.waitScale = o.waitScale ?? 1;
        this.onRetry = o.onRetry ?? (() => { });
        const maxRetryAfterS = (o.maxRetryAfterMs ?? 60_000) / 1000;
        const onLimit = (retryAfter, options, _o, retryCount) => {
            if (retryAfter > maxRetryAfterS) {
                stateOf(options).refusedWaitS = retryAfter;
                return false;
            }
            return retryCount < this.attempts - 1;
        };
        this.octokit = new GitHubOctokit({
            attempts: { total: this.attempts, onRetry: this.onRetry },
            baseUrl: o.apiUrl.replace(/\/+$/, ''),
            auth: o.token,
            userAgent: 'postgres-dr',
            headers: { 'x-github-api-version': '2022-11-28' },
            request: { fetch: o.fetch ?? (0,_util_proxy_fetch_js__WEBPACK_IMPORTED_MODULE_3__.proxyAwareFetch)() },
            // 429 and rate-limit 403s are the throttling plugin's, which honours Retry-After.
            retry: {
                retries: this.attempts - 1,
                retryAfterBaseValue: BACKOFF_BASE_MS * this.waitScale,
                doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
            },
            throttle: {
                onRateLimit: onLimit,
                onSecondaryRateLimit: onLimit,
                retryAfterBaseValue: 1000 * this.waitScale,
                // GitHub asks for a pause between writes when making many; a run makes at most four, one at a time.
                write: new (bottleneck_light_js__WEBPACK_IMPORTED_MODULE_1___default().Group)({ maxConcurrent: 1, minTime: 0 }),
                notifications: new (bottleneck_light_js__WEBPACK_IMPORTED_MODULE_1___default().Group)({ maxConcurrent: 1, minTime: 0 }),
            },
            log: { debug: () => { }, info: () => { }, warn: () => { }, error: () => { } },
        });
    }
    async call(method, url, params) {
        const call = new CallState();
        try {
            return (await this.octokit.request(`${method} ${url}`, { ...params, request: { call } })).data;
        }
        catch (err) {
            throw toHttpError(err, method, expand(url, params), call);
        }
    }
    /**
     * A POST that must happen once: when it fails in a way that leaves open whether it was done (a 5xx, a
     * connection lost after sending), look for its effect before trying again.
     */
    async postOnce(send, findDone) {
        for (let attempt = 1;; attempt++) {
            try {
                return await send();
            }
            catch (err) {
                const maybeDone = err instanceof _client_js__WEBPACK_IMPORTED_MODULE_4__/* .HttpError */ .j$ && (err.status === null || err.status >= 500);
                if (!maybeDone || (0,_client_js__WEBPACK_IMPORTED_MODULE_4__/* .provablyNotDone */ .PS)(err.cause) || attempt >= this.attempts)
                    throw err;
                const done = await findDone().catch(() => null);
                if (done)
                    return done;
                this.onRetry(`${err.message}; not done, retrying (attempt ${attempt + 1} of ${this.attempts})`);
                await (0,node_timers_promises__WEBPACK_IMPORTED_MODULE_0__.setTimeout)(BACKOFF_BASE_MS * attempt ** 2 * this.waitScale);
            }
        }
    }
    async listOpenIssues(repo, label) {
        const out = [];
        for (let page = 1; page <= MAX_PAGES; page++) {
            const data = await this.call('GET', '/repos/{owner}/{repo}/issues', {
                ...repo,
                state: 'open',
                labels: label,
                per_page: 100,
                page,
            });
            for (const r of data)
                if (!r.pull_request)
                    out.push(toIssue(r));
            if (data.length < 100)
                break;
        }
        return out;
    }
    async createIssue(repo, issue) {
        const body = { title: issue.title, body: issue.body, labels: issue.labels };
        if (issue.assignees.length)
            body.assignees = issue.assignees;
        const raw = await this.postOnce(() => this.call('POST', '/repos/{owner}/{repo}/issues', { ...repo, ...body }), async () => {
            const recent = await this.call('GET', '/repos/{owner}/{repo}/issues', {
                ...repo,
                state: 'open',
                labels: issue.labels[0] ?? '',
                per_page: 100,
                sort: 'created',
                direction: 'desc',
            });
            return recent.find((r) => !r.pull_request && r.title === issue.title && (r.body ?? '') === issue.body) ?? null;
        });
        return toIssue(raw);
    }
    async createComment(repo, issueNumber, body) {
        const url = '/repos/{owner}/{repo}/issues/{issue_number}/comments';
        const since = new Date(Date.now() - 10 * 60_000).toISOString();
        const data = await this.postOnce(() => this.call('POST', url, { ...repo, issue_number: issueNumber, body }), async () => {
            const recent = await this.call('GET', url, {
                ...repo,
                issue_number: issueNumber,
                since,
                per_page: 100,
            });
            return recent.find((c) => c.body === body) ?? null;
        });
        return { url: data.html_url };
    }
    async updateIssue(repo, issueNumber, update) {
        const body = {};
        if (update.state)
            body.state = update.state;
        if (update.stateReason)
            body.state_reason = update.stateReason;
        if (update.body !== undefined)
            body.body = update.body;
        return toIssue(await this.call('PATCH', '/repos/{owner}/{repo}/issues/{issue_number}', {
            ...repo,
            issue_number: issueNumber,
            ...body,
        }));
    }
}
/** The route with its path parameters filled in, for messages ("/repos/acme/app/issues"). */
function expand(route, params) {
    return route.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(String(params[k])));
}


/***/ }),

/***/ 3265:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   proxyAwareFetch: () => (/* binding */ proxyAwareFetch)
/* harmony export */ });
/* harmony import */ var undici__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6752);
/* harmony import */ var _proxy_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(796);
/**
 * fetch through the environment's proxy (see proxy.ts), for Octokit and webhooks. Node's own fetch
 * ignores HTTPS_PROXY unless node starts with NODE_USE_ENV_PROXY, which an action cannot choose; undici's
 * fetch with a ProxyAgent does the same work, one agent per proxy URL. Each attempt gets its own timeout.
 */


const agents = new Map();
function proxyAwareFetch(timeoutMs = 30_000) {
    return async (url, init = {}) => {
        const signal = init.signal
            ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)])
            : AbortSignal.timeout(timeoutMs);
        const proxy = (0,_proxy_js__WEBPACK_IMPORTED_MODULE_1__/* .proxyFor */ .i)(url);
        if (!proxy)
            return fetch(url, { ...init, signal });
        let dispatcher = agents.get(proxy);
        if (!dispatcher) {
            dispatcher = new undici__WEBPACK_IMPORTED_MODULE_0__/* .ProxyAgent */ .kT(proxy);
            agents.set(proxy, dispatcher);
        }
        // undici's Response is the same WHATWG shape as the global one.
        return (await (0,undici__WEBPACK_IMPORTED_MODULE_0__/* .fetch */ .hd)(url, { ...init, signal, dispatcher }));
    };
}


/***/ }),

/***/ 796:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   _: () => (/* binding */ proxyAgentsFor),
/* harmony export */   i: () => (/* binding */ proxyFor)
/* harmony export */ });
/* harmony import */ var http_proxy_agent__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(8947);
/* harmony import */ var https_proxy_agent__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1566);
/* harmony import */ var proxy_from_env__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8182);



/** The proxy URL for a request to `url`, or undefined to connect directly. */
function proxyFor(url) {
    return (0,proxy_from_env__WEBPACK_IMPORTED_MODULE_2__/* .getProxyForUrl */ .T)(url.toString()) || undefined;
}
/**
 * Node http(s) agents for requests to `url` when a proxy applies (for the AWS SDK's NodeHttpHandler):
 * an https:// target is tunnelled with CONNECT; an http:// one is sent to the proxy in absolute form,
 * which proxies that only allow CONNECT to port 443 still carry.
 */
function proxyAgentsFor(url) {
    const proxy = proxyFor(url);
    if (!proxy)
        return {};
    return new URL(url).protocol === 'http:'
        ? { httpAgent: new http_proxy_agent__WEBPACK_IMPORTED_MODULE_0__/* .HttpProxyAgent */ .s(proxy, { keepAlive: true }) }
        : { httpsAgent: new https_proxy_agent__WEBPACK_IMPORTED_MODULE_1__/* .HttpsProxyAgent */ .b(proxy, { keepAlive: true }) };
}


/***/ })

};
