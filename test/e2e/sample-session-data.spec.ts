/** Application state kept in the session: the cart, the wizard and the preferences. */
import { SampleClient, SampleHarness, startSample } from './sample-helpers';

describe('sample app: session data', () => {
  let sample: SampleHarness;
  let client: SampleClient;

  beforeAll(async () => {
    sample = await startSample();
  });
  afterAll(() => sample.close());
  beforeEach(async () => {
    client = sample.client();
    await client.login('alice');
  });

  describe('cart', () => {
    it('starts empty', async () => {
      const res = await client.get('/cart');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [], totalQuantity: 0 });
    });

    it('adds to an existing line, removes a line', async () => {
      expect((await client.post('/cart/items', { sku: 'apple', qty: 2 })).body).toEqual({
        items: [{ sku: 'apple', qty: 2 }],
        totalQuantity: 2,
      });
      await client.post('/cart/items', { sku: 'pear', qty: 1 });
      const res = await client.post('/cart/items', { sku: 'apple', qty: 3 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        items: [
          { sku: 'apple', qty: 5 },
          { sku: 'pear', qty: 1 },
        ],
        totalQuantity: 6,
      });

      const removed = await client.delete('/cart/items/apple');
      expect(removed.status).toBe(200);
      expect(removed.body).toEqual({ items: [{ sku: 'pear', qty: 1 }], totalQuantity: 1 });
      expect((await client.get('/cart')).body.items).toEqual([{ sku: 'pear', qty: 1 }]);
    });

    it('never loses a unit to 50 concurrent adds', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => client.post('/cart/items', { sku: 'widget', qty: 1 })));
      expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
      expect((await client.get('/cart')).body).toEqual({ items: [{ sku: 'widget', qty: 50 }], totalQuantity: 50 });
    });

    it('keeps carts per session', async () => {
      await client.post('/cart/items', { sku: 'apple', qty: 1 });
      const other = sample.client();
      await other.login('alice');
      expect((await other.get('/cart')).body.items).toEqual([]);
    });

    it('validates items: 400 VALIDATION_FAILED', async () => {
      for (const body of [
        { sku: '', qty: 1 },
        { sku: 'apple', qty: 0 },
        { sku: 'apple', qty: 1.5 },
        { sku: '<b>', qty: 1 },
        { sku: 'apple' },
        { sku: 'apple', qty: 1, price: 0 },
      ]) {
        const res = await client.post('/cart/items', body);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
      }
      expect((await client.post('/cart/items', { sku: 'apple', qty: '2' })).body.errors).toHaveProperty('qty');
    });

    it('caps a line at 9999 units: 422 CART_LIMIT_EXCEEDED, cart unchanged', async () => {
      await client.post('/cart/items', { sku: 'bulk', qty: 9999 });
      const res = await client.post('/cart/items', { sku: 'bulk', qty: 1 });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('CART_LIMIT_EXCEEDED');
      expect((await client.get('/cart')).body.totalQuantity).toBe(9999);
    });

    it('is 404 CART_ITEM_NOT_FOUND when removing what is not in the cart', async () => {
      const res = await client.delete('/cart/items/ghost');
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('CART_ITEM_NOT_FOUND');
    });

    it('needs a session', async () => {
      expect((await sample.client().get('/cart')).body.code).toBe('SESSION_REQUIRED');
      expect((await sample.client().post('/cart/items', { sku: 'a', qty: 1 })).status).toBe(401);
    });
  });

  describe('wizard', () => {
    it('starts at step 1', async () => {
      const res = await client.get('/wizard');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ currentStep: 1, completed: false, steps: { 1: null, 2: null, 3: null } });
    });

    it('walks through the three steps', async () => {
      let res = await client.put('/wizard/steps/1', { name: 'Alice', email: 'alice@example.com' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ currentStep: 2, completed: false, steps: { 1: { name: 'Alice', email: 'alice@example.com' } } });
      res = await client.put('/wizard/steps/2', { street: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' });
      expect(res.body).toMatchObject({ currentStep: 3, completed: false });
      res = await client.put('/wizard/steps/3', { confirm: true });
      expect(res.body).toEqual({
        currentStep: 3,
        completed: true,
        steps: {
          1: { name: 'Alice', email: 'alice@example.com' },
          2: { street: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' },
          3: { confirm: true },
        },
      });
      expect((await client.get('/wizard')).body.completed).toBe(true);

      // Changing an earlier step asks for confirmation again.
      res = await client.put('/wizard/steps/1', { name: 'Alice B.', email: 'alice@example.com' });
      expect(res.body).toMatchObject({ completed: false, steps: { 3: null } });
    });

    it('answers invalid fields with 400 VALIDATION_FAILED and messages per field', async () => {
      const res = await client.put('/wizard/steps/1', { name: 'Alice', email: 'not-an-email' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        statusCode: 400,
        code: 'VALIDATION_FAILED',
        message: expect.any(String),
        errors: { email: ['email must be an email'] },
      });
      const step2 = await client.put('/wizard/steps/2', { street: '', city: 'Paris', postalCode: '!', country: 'France' });
      expect(Object.keys(step2.body.errors).sort()).toEqual(['country', 'postalCode', 'street']);
      expect((await client.get('/wizard')).body.steps[1]).toBeNull();
    });

    it('rejects unknown fields', async () => {
      const res = await client.put('/wizard/steps/3', { confirm: true, admin: true });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual({ admin: ['property admin should not exist'] });
    });

    it('checks each step against its own fields', async () => {
      const res = await client.put('/wizard/steps/2', { name: 'Alice', email: 'alice@example.com' });
      expect(res.status).toBe(400);
      expect(res.body.errors).toHaveProperty('name');
      expect(res.body.errors).toHaveProperty('street');
    });

    it('is 404 for a step that does not exist', async () => {
      for (const n of ['0', '4', '01', 'abc', '1.5']) {
        const res = await client.put(`/wizard/steps/${n}`, { confirm: true });
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('WIZARD_STEP_NOT_FOUND');
      }
    });

    it('is 409 WIZARD_INCOMPLETE when confirming before steps 1 and 2', async () => {
      const res = await client.put('/wizard/steps/3', { confirm: true });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('WIZARD_INCOMPLETE');
    });
  });

  describe('preferences', () => {
    it('has defaults, saves valid ones', async () => {
      expect((await client.get('/preferences')).body).toEqual({ theme: 'system', language: 'en' });
      const res = await client.put('/preferences', { theme: 'dark', language: 'fr' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ theme: 'dark', language: 'fr' });
      expect((await client.get('/preferences')).body).toEqual({ theme: 'dark', language: 'fr' });
    });

    it('validates: 400 VALIDATION_FAILED naming the field', async () => {
      const res = await client.put('/preferences', { theme: 'neon', language: 'fr' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: { theme: ['theme must be one of light, dark, system'] } });
      expect((await client.put('/preferences', { theme: 'dark' })).body.errors).toHaveProperty('language');
      expect((await client.put('/preferences', { theme: 'dark', language: 'xx' })).status).toBe(400);
    });

    it('survives id rotation', async () => {
      await client.put('/preferences', { theme: 'light', language: 'de' });
      sample.clock.advance(16 * 60_000);
      const rotated = await client.get('/preferences');
      expect(rotated.headers['set-cookie']).toBeDefined();
      expect(rotated.body).toEqual({ theme: 'light', language: 'de' });
    });
  });
});
