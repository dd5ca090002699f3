export const id = 683;
export const ids = [683];
export const modules = {

/***/ 3683:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   runAsAction: () => (/* binding */ runAsAction)
/* harmony export */ });
/* unused harmony exports getInput, actionsLogger */
/* harmony import */ var _actions_core__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3838);
/* harmony import */ var _core_report_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(8557);
/* harmony import */ var _util_errors_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(17);
/* harmony import */ var _util_memory_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(6265);
/* harmony import */ var _util_secrets_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(4537);
/** The one place that talks to the Actions runner: inputs, outputs, summary, secrets, cancel, failure. */





const getInput = (name) => _actions_core__WEBPACK_IMPORTED_MODULE_0__.getInput(name).trim();
const actionsLogger = {
    info: (m) => _actions_core__WEBPACK_IMPORTED_MODULE_0__.info((0,_util_secrets_js__WEBPACK_IMPORTED_MODULE_4__/* .redact */ .E$)(m)),
    warn: (m) => _actions_core__WEBPACK_IMPORTED_MODULE_0__.warning((0,_util_secrets_js__WEBPACK_IMPORTED_MODULE_4__/* .redact */ .E$)(m)),
    debug: (m) => _actions_core__WEBPACK_IMPORTED_MODULE_0__.debug((0,_util_secrets_js__WEBPACK_IMPORTED_MODULE_4__/* .redact */ .E$)(m)),
    group: (title, fn) => _actions_core__WEBPACK_IMPORTED_MODULE_0__.group(title, fn),
};
async function writeSummary(report) {
    if (!process.env.GITHUB_STEP_SUMMARY)
        return;
    try {
        await _actions_core__WEBPACK_IMPORTED_MODULE_0__.summary.addRaw((0,_util_secrets_js__WEBPACK_IMPORTED_MODULE_4__/* .redact */ .E$)((0,_core_report_js__WEBPACK_IMPORTED_MODULE_1__/* .reportToMarkdown */ .hd)(report)), true).write();
    }
    catch (err) {
        _actions_core__WEBPACK_IMPORTED_MODULE_0__.warning(`could not write the job summary: ${(0,_util_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .describeError */ .Uc)(err)}`);
    }
}
/**
 * Runs one command as an action: secrets go to core.setSecret, SIGINT/SIGTERM (the runner's cancel)
 * become an AbortSignal, and any error becomes one failed step with a message free of secrets.
 */
async function runAsAction(command) {
    (0,_util_secrets_js__WEBPACK_IMPORTED_MODULE_4__/* .onSecret */ .IJ)((s) => _actions_core__WEBPACK_IMPORTED_MODULE_0__.setSecret(s));
    const controller = new AbortController();
    const cancel = (sig) => {
        _actions_core__WEBPACK_IMPORTED_MODULE_0__.warning(`received ${sig}: cancelling and cleaning up`);
        controller.abort(new _util_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .CancelledError */ .cc(`cancelled by ${sig}`));
    };
    process.once('SIGINT', () => cancel('SIGINT'));
    process.once('SIGTERM', () => cancel('SIGTERM'));
    const stopGovernor = (0,_util_memory_js__WEBPACK_IMPORTED_MODULE_3__/* .startMemoryGovernor */ .Q)();
    try {
        const result = await command.run(getInput, { log: actionsLogger, signal: controller.signal, host: 'action' });
        for (const [k, v] of Object.entries(result.outputs)) {
            _actions_core__WEBPACK_IMPORTED_MODULE_0__.setOutput(k, typeof v === 'string' ? (0,_util_secrets_js__WEBPACK_IMPORTED_MODULE_4__/* .redact */ .E$)(v) : String(v));
        }
        for (const w of result.warnings ?? [])
            _actions_core__WEBPACK_IMPORTED_MODULE_0__.warning((0,_util_secrets_js__WEBPACK_IMPORTED_MODULE_4__/* .redact */ .E$)(w));
        await writeSummary(result.report);
        if (result.failure)
            _actions_core__WEBPACK_IMPORTED_MODULE_0__.setFailed((0,_util_secrets_js__WEBPACK_IMPORTED_MODULE_4__/* .redact */ .E$)(result.failure));
    }
    catch (err) {
        const message = (0,_util_secrets_js__WEBPACK_IMPORTED_MODULE_4__/* .redact */ .E$)(err instanceof _util_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .UserError */ .yo ? err.message : (0,_util_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .describeError */ .Uc)(err));
        if (!(err instanceof _util_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .UserError */ .yo) && err instanceof Error && err.stack)
            _actions_core__WEBPACK_IMPORTED_MODULE_0__.debug((0,_util_secrets_js__WEBPACK_IMPORTED_MODULE_4__/* .redact */ .E$)(err.stack));
        await writeSummary({
            title: `${command.name} failed`,
            status: 'failure',
            headline: message,
            facts: [],
            tables: [],
        });
        _actions_core__WEBPACK_IMPORTED_MODULE_0__.setFailed(message);
    }
    finally {
        stopGovernor();
    }
}


/***/ })

};
