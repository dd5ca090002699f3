export const id = 988;
export const ids = [988];
export const modules = {

/***/ 988:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   S3BucketAuditor: () => (/* binding */ S3BucketAuditor)
/* harmony export */ });
/* harmony import */ var _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3711);
/**
 * The BucketAuditor for S3: GetBucketVersioning / GetBucketReplication. Loaded only when monitor audits
 * a bucket (commands/monitor.ts imports it dynamically), so other runs never load the AWS SDK for it.
 */

class S3BucketAuditor {
    client;
    constructor(client) {
        this.client = client;
    }
    async versioning(bucket) {
        const r = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__.GetBucketVersioningCommand({ Bucket: bucket }));
        return r.Status ?? '';
    }
    async replication(bucket) {
        try {
            const r = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__.GetBucketReplicationCommand({ Bucket: bucket }));
            const rules = (r.ReplicationConfiguration?.Rules ?? []).filter((x) => x.Status === 'Enabled');
            return {
                enabledRules: rules.length,
                destinations: rules.map((x) => x.Destination?.Bucket ?? '?'),
            };
        }
        catch (err) {
            if (err.name === 'ReplicationConfigurationNotFoundError')
                return null;
            throw err;
        }
    }
}


/***/ })

};
