import { Module } from '@nestjs/common';
import { AdminModule } from '../admin/admin.module';
import { AuthModule } from '../auth/auth.module';
import { UsersModule } from '../users/users.module';
import { CartModule } from '../cart/cart.module';
import { PreferencesModule } from '../preferences/preferences.module';
import { WizardModule } from '../wizard/wizard.module';
import { AssetsController } from './assets.controller';
import { PageRenderer } from './page-renderer';
import { PagesController } from './pages.controller';

/** Server-rendered pages for people (and browser tests): they call the JSON routes with fetch. */
@Module({
  imports: [AuthModule, AdminModule, UsersModule, CartModule, PreferencesModule, WizardModule],
  controllers: [PagesController, AssetsController],
  providers: [PageRenderer],
  // For the app's exception filter, which answers a failed page request with a page.
  exports: [PageRenderer],
})
export class PagesModule {}
